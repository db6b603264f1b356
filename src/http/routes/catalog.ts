// Venues, performers (organizers manage their own) and type-ahead suggestions.
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import {
  createPerformer,
  createVenue,
  getPerformer,
  getVenue,
  listOwnPerformers,
  listOwnVenues,
  renamePerformer,
  updateVenue,
} from '../../app/catalog.ts';
import type { Deps } from '../../app/deps.ts';
import { suggest } from '../../app/events.ts';
import { requireRole, signedIn } from '../plugins/auth.ts';
import { bearerAuth, responses, Text } from '../schemas/common.ts';

const strict = { additionalProperties: false } as const;
const Nullable = <T extends ReturnType<typeof Type.Number>>(schema: T) => Type.Union([schema, Type.Null()]);

const VenueFields = {
  name: Text(1, 200),
  city: Text(1, 100),
  address: Type.Optional(Type.Union([Text(1, 500), Type.Null()])),
  latitude: Type.Optional(Nullable(Type.Number({ minimum: -90, maximum: 90 }))),
  longitude: Type.Optional(Nullable(Type.Number({ minimum: -180, maximum: 180 }))),
  capacity: Type.Optional(Type.Union([Type.Integer({ minimum: 1, maximum: 10_000_000 }), Type.Null()])),
};

// What anyone reads has no organizer_id (the identity provider's subject, possibly an
// e-mail address); the organizer's own answers (create, edit, /v1/me/…) carry it.
const Venue = Type.Object({
  venue_id: Type.String(),
  name: Type.String(),
  city: Type.String(),
  address: Type.Union([Type.String(), Type.Null()]),
  latitude: Type.Union([Type.Number(), Type.Null()]),
  longitude: Type.Union([Type.Number(), Type.Null()]),
  capacity: Type.Union([Type.Integer(), Type.Null()]),
  created_at: Type.String(),
  updated_at: Type.String(),
});

const OwnVenue = Type.Object({ ...Venue.properties, organizer_id: Type.String() });

const Performer = Type.Object({
  performer_id: Type.String(),
  name: Type.String(),
  created_at: Type.String(),
  updated_at: Type.String(),
});

const OwnPerformer = Type.Object({ ...Performer.properties, organizer_id: Type.String() });

const IdParam = (name: string) => Type.Object({ [name]: Type.String({ minLength: 1, maxLength: 100 }) });

export function catalogRoutes(untypedApp: FastifyInstance, deps: Deps) {
  const app = untypedApp.withTypeProvider<TypeBoxTypeProvider>();
  const organizerOnly = { preValidation: signedIn('organizer') };

  app.post(
    '/v1/venues',
    {
      ...organizerOnly,
      schema: {
        tags: ['catalog'],
        summary: 'Create a venue (organizers)',
        security: bearerAuth,
        body: Type.Object(VenueFields, strict),
        response: responses({ 201: OwnVenue }),
      },
    },
    async (request, reply) => {
      const venue = await createVenue(deps, requireRole(request, 'organizer').id, request.body);
      return reply.code(201).header('location', `/v1/venues/${venue.venue_id}`).send(venue);
    },
  );

  app.get(
    '/v1/venues/:venue_id',
    {
      config: { cacheSeconds: 30 },
      schema: {
        tags: ['catalog'],
        summary: 'A venue (without whose it is)',
        params: IdParam('venue_id'),
        response: responses({ 200: Venue }),
      },
    },
    async (request) => getVenue(deps, (request.params as { venue_id: string }).venue_id),
  );

  app.patch(
    '/v1/venues/:venue_id',
    {
      ...organizerOnly,
      schema: {
        tags: ['catalog'],
        summary: 'Change your venue (its events show and are found by the new name and city)',
        security: bearerAuth,
        params: IdParam('venue_id'),
        body: Type.Partial(Type.Object(VenueFields, strict), { minProperties: 1 }),
        response: responses({ 200: OwnVenue }),
      },
    },
    async (request) =>
      updateVenue(
        deps,
        requireRole(request, 'organizer').id,
        (request.params as { venue_id: string }).venue_id,
        request.body,
      ),
  );

  app.get(
    '/v1/me/venues',
    {
      ...organizerOnly,
      schema: {
        tags: ['catalog'],
        summary: 'Your venues, oldest first (organizers)',
        security: bearerAuth,
        response: responses({ 200: Type.Object({ venues: Type.Array(OwnVenue) }) }),
      },
    },
    async (request) => listOwnVenues(deps, requireRole(request, 'organizer').id),
  );

  const PerformerBody = Type.Object({ name: Text(1, 200) }, strict);

  app.post(
    '/v1/performers',
    {
      ...organizerOnly,
      schema: {
        tags: ['catalog'],
        summary: 'Create a performer (organizers)',
        security: bearerAuth,
        body: PerformerBody,
        response: responses({ 201: OwnPerformer }),
      },
    },
    async (request, reply) => {
      const performer = await createPerformer(deps, requireRole(request, 'organizer').id, request.body.name);
      return reply.code(201).header('location', `/v1/performers/${performer.performer_id}`).send(performer);
    },
  );

  app.get(
    '/v1/performers/:performer_id',
    {
      config: { cacheSeconds: 30 },
      schema: {
        tags: ['catalog'],
        summary: 'A performer (without whose it is)',
        params: IdParam('performer_id'),
        response: responses({ 200: Performer }),
      },
    },
    async (request) => getPerformer(deps, (request.params as { performer_id: string }).performer_id),
  );

  app.patch(
    '/v1/performers/:performer_id',
    {
      ...organizerOnly,
      schema: {
        tags: ['catalog'],
        summary: 'Rename your performer (their events are found by the new name)',
        security: bearerAuth,
        params: IdParam('performer_id'),
        body: PerformerBody,
        response: responses({ 200: OwnPerformer }),
      },
    },
    async (request) =>
      renamePerformer(
        deps,
        requireRole(request, 'organizer').id,
        (request.params as { performer_id: string }).performer_id,
        request.body.name,
      ),
  );

  app.get(
    '/v1/me/performers',
    {
      ...organizerOnly,
      schema: {
        tags: ['catalog'],
        summary: 'Your performers, oldest first (organizers)',
        security: bearerAuth,
        response: responses({ 200: Type.Object({ performers: Type.Array(OwnPerformer) }) }),
      },
    },
    async (request) => listOwnPerformers(deps, requireRole(request, 'organizer').id),
  );

  app.get(
    '/v1/search/suggest',
    {
      config: { cacheSeconds: 30 },
      schema: {
        tags: ['catalog'],
        summary:
          'Type-ahead: published events, and performers and venues with a published event, whose names match ' +
          'what was typed so far',
        querystring: Type.Object(
          {
            q: Text(1, 100),
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 20, default: 8 })),
          },
          strict,
        ),
        response: responses({
          200: Type.Object({
            suggestions: Type.Array(
              Type.Object({
                kind: Type.Union([Type.Literal('event'), Type.Literal('performer'), Type.Literal('venue')]),
                id: Type.String(),
                name: Type.String(),
              }),
            ),
          }),
        }),
      },
    },
    async (request) => suggest(deps, request.query.q, request.query.limit ?? 8),
  );
}
