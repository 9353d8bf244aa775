import type { Reject } from './reject.js'

/** A stage maps one item to the next item or to a Reject; the runner owns concurrency, order and the ledger. */
export type Stage<In, Out> = (item: In) => Promise<Out | Reject>
