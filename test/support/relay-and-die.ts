// A server process's after-sale workers, stopped dead at the worst moment, for the test to
// SIGKILL: run as `node --import tsx test/support/relay-and-die.ts <moment>` with a server's
// environment. Prints "ready" once the moment is reached and then waits to be killed.
// - after-publish: the relay has put a batch on the bus and not yet committed its stamp;
// - mid-apply: the notifications consumer is inside its transaction (queued the batch's
//   mail, not committed; its bus entries are delivered and unacknowledged).
import type { FactBus, FactConsumer } from '../../src/adapters/bus/fact-bus.ts';
import type { Fact } from '../../src/app/ports/facts.ts';
import { loadConfig } from '../../src/config.ts';
import { createRuntime } from '../../src/runtime.ts';

const moment = process.argv[2];
const hang = (): Promise<never> => {
  process.stdout.write('ready\n');
  return new Promise(() => {});
};

const wrapBus = (bus: FactBus): FactBus => ({
  publish: async (facts: Fact[]) => {
    await bus.publish(facts);
    if (moment === 'after-publish') await hang();
  },
  committed: () => bus.committed?.(),
  register: (consumer) => bus.register(consumer),
  consumeOnce: (consumer, waitMs) => bus.consumeOnce(consumer, waitMs),
  lag: (consumer) => bus.lag(consumer),
  close: () => bus.close(),
});
const wrapConsumer = (consumer: FactConsumer): FactConsumer => ({
  name: consumer.name,
  apply: async (facts, tx) => {
    await consumer.apply(facts, tx);
    if (moment === 'mid-apply') await hang();
  },
});

const runtime = await createRuntime(loadConfig(), { wrapBus, wrapConsumer });
await runtime.facts.drain();
process.stdout.write('drained without reaching the moment\n');
process.exit(3);
