// Progress for hosts and people: an ESTIMATE of the rows of the streams with a record per run,
// and a LOG every 30 s with the requests made and left in the hour.
import type { ReadContext } from "../streams/stream.js";

/** Counts repositories read and run counts seen; says when an estimate or a LOG is due. */
export class Progress {
  private repositoriesDone = 0;
  private sizeSum = 0;
  private sizedRepositories = 0;
  private lastLog: number;

  constructor(
    private readonly ctx: ReadContext,
    private readonly repositories: number,
  ) {
    this.lastLog = ctx.now();
  }

  /** A repository's first page said how many runs it has. */
  sized(size: number): number | undefined {
    this.sizeSum += size;
    this.sizedRepositories++;
    // The first estimate goes out as soon as a first repository's size is known.
    return this.sizedRepositories === 1 ? this.estimate() : undefined;
  }

  /** Returns an estimate of the total runs when it is time to publish one. */
  repositoryDone(): number | undefined {
    this.repositoriesDone++;
    const now = this.ctx.now();
    if (this.repositoriesDone !== 1 && this.repositoriesDone !== this.repositories && now - this.lastLog < 30_000)
      return undefined;
    this.lastLog = now;
    const client = this.ctx.client;
    this.ctx.log(
      "INFO",
      `${this.repositoriesDone}/${this.repositories} repositories read, ${client.requestCount} requests made, about ${client.requestsLeftThisHour()} left in this hour's budget.`,
    );
    return this.estimate();
  }

  private estimate(): number | undefined {
    if (this.sizedRepositories === 0) return undefined;
    const average = this.sizeSum / this.sizedRepositories;
    // Repositories not read yet are read in full in the same share as those read so far.
    const share = Math.min(1, this.sizedRepositories / Math.max(1, this.repositoriesDone));
    return Math.round(this.sizeSum + average * Math.max(0, this.repositories - this.sizedRepositories) * share);
  }
}
