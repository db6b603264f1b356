// Venues and performers: organizers manage their own; anyone may read them (without whose
// they are). Someone else's venue or performer cannot be changed (404, as if it did not
// exist for them).
import { DomainError } from '../domain/errors.ts';
import type { Deps } from './deps.ts';
import type { VenueFields } from './ports/catalog.ts';
import { ownPerformerView, ownVenueView, performerView, venueView } from './views.ts';

export interface VenueInput {
  name?: string;
  city?: string;
  address?: string | null;
  latitude?: number | null;
  longitude?: number | null;
  capacity?: number | null;
}

export const ownListMax = 500;

function assertCoordinates(latitude: number | null | undefined, longitude: number | null | undefined) {
  if ((latitude === undefined || latitude === null) !== (longitude === undefined || longitude === null)) {
    throw new DomainError('VALIDATION_FAILED', 'latitude and longitude come together', {
      errors: [
        {
          path: latitude === undefined || latitude === null ? '/latitude' : '/longitude',
          message: 'required with the other',
        },
      ],
    });
  }
}

export async function createVenue(deps: Deps, organizerId: string, input: VenueInput & { name: string; city: string }) {
  assertCoordinates(input.latitude, input.longitude);
  const fields: VenueFields = {
    name: input.name,
    city: input.city,
    address: input.address ?? null,
    latitude: input.latitude ?? null,
    longitude: input.longitude ?? null,
    capacity: input.capacity ?? null,
  };
  const venue = await deps.catalog.createVenue(organizerId, fields, deps.clock.nowMs());
  return ownVenueView(venue);
}

export async function getVenue(deps: Deps, venueId: string) {
  const venue = await deps.catalog.findVenue(venueId);
  if (!venue) throw new DomainError('VENUE_NOT_FOUND', `no venue ${venueId}`);
  return venueView(venue);
}

export async function updateVenue(deps: Deps, organizerId: string, venueId: string, input: VenueInput) {
  const venue = await deps.catalog.findVenue(venueId);
  if (!venue || venue.organizerId !== organizerId) throw new DomainError('VENUE_NOT_FOUND', `no venue ${venueId}`);
  const latitude = input.latitude === undefined ? venue.latitude : input.latitude;
  const longitude = input.longitude === undefined ? venue.longitude : input.longitude;
  assertCoordinates(latitude, longitude);
  const updated = await deps.catalog.updateVenue(venueId, input, deps.clock.nowMs());
  if (!updated) throw new DomainError('VENUE_NOT_FOUND', `no venue ${venueId}`);
  return ownVenueView(updated.venue);
}

export async function listOwnVenues(deps: Deps, organizerId: string) {
  return { venues: (await deps.catalog.listVenues(organizerId, ownListMax)).map(ownVenueView) };
}

export async function createPerformer(deps: Deps, organizerId: string, name: string) {
  const performer = await deps.catalog.createPerformer(organizerId, name, deps.clock.nowMs());
  return ownPerformerView(performer);
}

export async function getPerformer(deps: Deps, performerId: string) {
  const performer = await deps.catalog.findPerformer(performerId);
  if (!performer) throw new DomainError('PERFORMER_NOT_FOUND', `no performer ${performerId}`);
  return performerView(performer);
}

export async function renamePerformer(deps: Deps, organizerId: string, performerId: string, name: string) {
  const performer = await deps.catalog.findPerformer(performerId);
  if (!performer || performer.organizerId !== organizerId) {
    throw new DomainError('PERFORMER_NOT_FOUND', `no performer ${performerId}`);
  }
  const updated = await deps.catalog.updatePerformer(performerId, name, deps.clock.nowMs());
  if (!updated) throw new DomainError('PERFORMER_NOT_FOUND', `no performer ${performerId}`);
  return ownPerformerView(updated.performer);
}

export async function listOwnPerformers(deps: Deps, organizerId: string) {
  return { performers: (await deps.catalog.listPerformers(organizerId, ownListMax)).map(ownPerformerView) };
}
