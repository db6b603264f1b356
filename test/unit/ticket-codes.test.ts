import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { HmacTicketCodes } from '../../src/adapters/tokens/hmac-ticket-codes.ts';
import { parseTicketId, ticketIdOf } from '../../src/domain/ticket-ids.ts';

const newest = { id: 'k2', secret: 'a'.repeat(40) };
const older = { id: 'k1', secret: 'b'.repeat(40) };
const ticket = {
  bookingId: '0b6f0c3e-8a4c-4c55-9d0e-3f1b2a4c5d6e',
  eventId: '9f8e7d6c-5b4a-4321-8fed-cba987654321',
  seatNo: 1234,
};

describe('ticket codes', () => {
  test('when a code is signed, then it verifies to the same ticket, with the newest key', () => {
    const codes = new HmacTicketCodes([newest, older]);
    const code = codes.sign(ticket);
    assert.match(code, /^BX1\.k2\.[A-Za-z0-9_-]{48}\.[A-Za-z0-9_-]{22}$/);
    assert.deepEqual(codes.verify(code), ticket);
    assert.deepEqual(codes.verify(`  ${code}\n`), ticket, 'a scanner may add whitespace');
  });

  test('when any character of a code changes, then it no longer verifies', () => {
    const codes = new HmacTicketCodes([newest]);
    const code = codes.sign(ticket);
    fc.assert(
      fc.property(fc.nat(code.length - 1), fc.constantFrom(...'ABCxyz019-_.'), (at, char) => {
        fc.pre(code[at] !== char);
        const changed = code.slice(0, at) + char + code.slice(at + 1);
        assert.equal(codes.verify(changed), null, changed);
      }),
      { numRuns: 500 },
    );
  });

  test('when keys rotate, then listed keys verify and a removed key does not', () => {
    const oldCode = new HmacTicketCodes([older]).sign(ticket);
    assert.deepEqual(new HmacTicketCodes([newest, older]).verify(oldCode), ticket);
    assert.equal(new HmacTicketCodes([newest]).verify(oldCode), null);
    // Same key id, another secret: refused.
    assert.equal(new HmacTicketCodes([{ id: 'k1', secret: 'c'.repeat(40) }]).verify(oldCode), null);
  });

  test('when a ticket id is made, then it names its booking and seat, and nothing else parses', () => {
    fc.assert(
      fc.property(fc.uuid(), fc.nat(2 ** 32 - 1), (bookingId, seatNo) => {
        assert.deepEqual(parseTicketId(ticketIdOf(bookingId, seatNo)), { bookingId, seatNo });
      }),
    );
    for (const id of ['', 'tk_', 'tk_short', `${ticketIdOf(ticket.bookingId, 1)}x`, 'xx_' + 'A'.repeat(27)]) {
      assert.equal(parseTicketId(id), null, id);
    }
  });
});
