// Who is signed in (the bearer token and what it says), and the admission tokens the
// waiting room gave this browser, kept in localStorage so a reload keeps both.
export type Role = 'customer' | 'organizer' | 'admin' | 'staff';

export interface Session {
  token: string;
  userId: string;
  role: Role;
  /** Where the buyer's mails go (the token's email claim), if it has one. */
  email: string | null;
  /** Staff: the events whose tickets they may check in (the token's events claim). */
  events: string[];
  expiresAtMs: number | null;
}

const roles: readonly Role[] = ['customer', 'organizer', 'admin', 'staff'];

const sessionKey = 'boxoffice.session';
const admissionKeyPrefix = 'boxoffice.admission.';

function claimsOf(token: string): Record<string, unknown> | null {
  const payload = token.split('.')[1];
  if (!payload) return null;
  try {
    const json = atob(
      payload
        .replace(/-/g, '+')
        .replace(/_/g, '/')
        .padEnd(Math.ceil(payload.length / 4) * 4, '='),
    );
    const claims: unknown = JSON.parse(json);
    return typeof claims === 'object' && claims !== null ? (claims as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** A session from a bearer token (its claims are read, not verified: the server does that). */
export function sessionFromToken(token: string): Session | null {
  const claims = claimsOf(token);
  if (!claims || typeof claims.sub !== 'string') return null;
  const role = roles.find((known) => known === claims.role) ?? 'customer';
  const email = typeof claims.email === 'string' ? claims.email : null;
  const events = Array.isArray(claims.events)
    ? claims.events.filter((event): event is string => typeof event === 'string')
    : [];
  const expiresAtMs = typeof claims.exp === 'number' ? claims.exp * 1000 : null;
  return { token, userId: claims.sub, role, email, events, expiresAtMs };
}

export function currentSession(): Session | null {
  const token = localStorage.getItem(sessionKey);
  const session = token ? sessionFromToken(token) : null;
  if (session && session.expiresAtMs !== null && session.expiresAtMs <= Date.now()) {
    signOut();
    return null;
  }
  return session;
}

export function signIn(token: string): Session | null {
  const session = sessionFromToken(token);
  if (session) localStorage.setItem(sessionKey, token);
  return session;
}

export function signOut(): void {
  localStorage.removeItem(sessionKey);
  for (const key of Object.keys(localStorage)) if (key.startsWith(admissionKeyPrefix)) localStorage.removeItem(key);
}

interface StoredAdmission {
  token: string;
  userId: string;
  expiresAtMs: number;
}

/** The admission to an event's sale this user holds, if it is still valid. */
export function admissionFor(eventId: string, userId: string): string | null {
  const raw = localStorage.getItem(admissionKeyPrefix + eventId);
  if (!raw) return null;
  try {
    const admission = JSON.parse(raw) as StoredAdmission;
    if (admission.userId === userId && admission.expiresAtMs > Date.now()) return admission.token;
  } catch {
    // a damaged entry is dropped below
  }
  localStorage.removeItem(admissionKeyPrefix + eventId);
  return null;
}

export function rememberAdmission(eventId: string, userId: string, token: string, expiresAtIso: string): void {
  const admission: StoredAdmission = { token, userId, expiresAtMs: Date.parse(expiresAtIso) };
  localStorage.setItem(admissionKeyPrefix + eventId, JSON.stringify(admission));
}
