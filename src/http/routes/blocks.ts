// Organizer holds ("kills"): seats taken off sale with a label, and put back. The event's
// organizer or an admin only; the live map shows the seats blocked.
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Deps } from '../../app/deps.ts';
import { blockSeats, listBlocks, releaseBlock, seatsPerBlockMax } from '../../app/seat-blocks.ts';
import { requireUser, signedIn } from '../plugins/auth.ts';
import { bearerAuth, responses, Text } from '../schemas/common.ts';

const strict = { additionalProperties: false } as const;
const EventParams = Type.Object({ event_id: Type.String({ minLength: 1, maxLength: 100 }) });
const BlockParams = Type.Object({
  event_id: Type.String({ minLength: 1, maxLength: 100 }),
  block_id: Type.String({ minLength: 1, maxLength: 100 }),
});

const Block = Type.Object({
  block_id: Type.String(),
  event_id: Type.String(),
  label: Type.String(),
  seat_ids: Type.Array(Type.String()),
  created_at: Type.String(),
});

const BlockBody = Type.Object(
  {
    seat_ids: Type.Array(Text(1, 32), { minItems: 1, maxItems: seatsPerBlockMax, description: 'free seats only' }),
    label: Text(1, 100, { description: 'why, for the organizer: "press", "camera platform", "sponsor"' }),
  },
  strict,
);

const access =
  "The event's organizer or an admin: 403 FORBIDDEN for anyone else, 404 for an unknown event (or another " +
  "organizer's draft).";

export function blockRoutes(untypedApp: FastifyInstance, deps: Deps) {
  const app = untypedApp.withTypeProvider<TypeBoxTypeProvider>();
  const viewerOf = (user: { id: string; role: string }) => ({ userId: user.id, role: user.role });

  app.post(
    '/v1/events/:event_id/blocks',
    {
      preValidation: signedIn(),
      schema: {
        tags: ['organizer'],
        summary: 'Take seats off sale (an organizer hold: press, production, sponsors), all of them or none',
        description:
          `${access} The seats must be free: 409 SEAT_UNAVAILABLE names those held, booked or blocked already. ` +
          'They show as blocked on the live map and in GET …/seats, and no hold takes them until released.',
        security: bearerAuth,
        params: EventParams,
        body: BlockBody,
        response: responses({ 201: Block }),
      },
    },
    async (request, reply) => {
      const { event_id: eventId } = request.params;
      const block = await blockSeats(
        deps,
        viewerOf(requireUser(request)),
        eventId,
        request.body.seat_ids,
        request.body.label,
      );
      return reply.code(201).header('location', `/v1/events/${eventId}/blocks/${block.block_id}`).send(block);
    },
  );

  app.get(
    '/v1/events/:event_id/blocks',
    {
      preValidation: signedIn(),
      schema: {
        tags: ['organizer'],
        summary: "Your event's organizer holds that are still in force, oldest first",
        description: access,
        security: bearerAuth,
        params: EventParams,
        response: responses({ 200: Type.Object({ event_id: Type.String(), blocks: Type.Array(Block) }) }),
      },
    },
    async (request, reply) => {
      reply.header('cache-control', 'no-store');
      return listBlocks(deps, viewerOf(requireUser(request)), request.params.event_id);
    },
  );

  app.delete(
    '/v1/events/:event_id/blocks/:block_id',
    {
      preValidation: signedIn(),
      schema: {
        tags: ['organizer'],
        summary: 'Release an organizer hold: its seats go back on sale at once',
        description: `${access} 404 BLOCK_NOT_FOUND for a block that is not in force on this event.`,
        security: bearerAuth,
        params: BlockParams,
        response: responses({ 204: Type.Null() }),
      },
    },
    async (request, reply) => {
      const { event_id: eventId, block_id: blockId } = request.params;
      await releaseBlock(deps, viewerOf(requireUser(request)), eventId, blockId);
      return reply.code(204).send(null);
    },
  );
}
