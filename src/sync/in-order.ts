// Runs up to `concurrency` producers at once but hands out their items in producer order, so a
// repository's records stay together and its checkpoint still follows them. Each producer may run
// ahead of the consumer by at most `buffer` items: memory stays flat, and a slow consumer
// (stdout) pauses the producers (HTTP).

export type Producer<T, R> = () => AsyncGenerator<T, R>;
export type Ordered<T, R> = { item: T } | { done: R };

class Cancelled extends Error {}

class Channel<T, R> {
  readonly items: T[] = [];
  outcome?: { ok: true; value: R } | { ok: false; error: unknown };
  cancelled = false;
  private wakeConsumer?: () => void;
  private wakeProducer?: () => void;

  constructor(private readonly capacity: number) {}

  async push(item: T): Promise<void> {
    if (this.cancelled) throw new Cancelled();
    this.items.push(item);
    this.wake("consumer");
    while (this.items.length >= this.capacity && !this.cancelled) {
      await new Promise<void>((resolve) => (this.wakeProducer = resolve));
    }
    if (this.cancelled) throw new Cancelled();
  }

  settle(outcome: NonNullable<Channel<T, R>["outcome"]>): void {
    this.outcome = outcome;
    this.wake("consumer");
  }

  /** Waits until there is an item or an outcome. */
  async ready(): Promise<void> {
    while (this.items.length === 0 && !this.outcome) {
      await new Promise<void>((resolve) => (this.wakeConsumer = resolve));
    }
  }

  take(): T {
    const item = this.items.shift()!;
    this.wake("producer");
    return item;
  }

  cancel(): void {
    this.cancelled = true;
    this.wake("producer");
  }

  private wake(who: "consumer" | "producer"): void {
    const wake = who === "consumer" ? this.wakeConsumer : this.wakeProducer;
    if (who === "consumer") this.wakeConsumer = undefined;
    else this.wakeProducer = undefined;
    wake?.();
  }
}

async function drive<T, R>(producer: Producer<T, R>, channel: Channel<T, R>): Promise<void> {
  try {
    const generator = producer();
    let step = await generator.next();
    while (!step.done) {
      await channel.push(step.value);
      step = await generator.next();
    }
    channel.settle({ ok: true, value: step.value });
  } catch (error) {
    channel.settle({ ok: false, error });
  }
}

export async function* inOrder<T, R>(
  producers: Producer<T, R>[],
  concurrency: number,
  buffer: number,
): AsyncGenerator<Ordered<T, R>> {
  const channels: Channel<T, R>[] = [];
  const start = (): void => {
    const index = channels.length;
    if (index >= producers.length) return;
    const channel = new Channel<T, R>(buffer);
    channels.push(channel);
    void drive(producers[index]!, channel);
  };
  for (let i = 0; i < Math.max(1, concurrency); i++) start();
  try {
    for (let i = 0; i < producers.length; i++) {
      const channel = channels[i]!;
      for (;;) {
        await channel.ready();
        if (channel.items.length > 0) {
          yield { item: channel.take() };
          continue;
        }
        const outcome = channel.outcome!;
        if (!outcome.ok) throw outcome.error;
        start();
        yield { done: outcome.value };
        break;
      }
    }
  } finally {
    for (const channel of channels) channel.cancel();
  }
}
