// The port for admission tokens: proof that the waiting room let a user into an event's
// shop, until the admission ends. The use cases sign and verify them; how a token is made
// (a JWT with its own key and audience) is the adapter's (adapters/tokens/).

export interface Admission {
  userId: string;
  eventId: string;
  expiresAtMs: number;
}

export interface AdmissionTokens {
  /** A token for the admission, expiring with it. */
  sign(admission: Admission): Promise<string>;
  /** The admission the token proves at nowMs, or null (forged, expired or malformed). */
  verify(token: string, nowMs: number): Promise<Admission | null>;
}
