// s3rver ships no types; the tests use this much of it.
declare module 's3rver' {
  export default class S3rver {
    constructor(options: { address?: string; port?: number; directory: string; silent?: boolean; configureBuckets?: { name: string }[]; allowMismatchedSignatures?: boolean })
    run(): Promise<{ address: string; port: number }>
    close(): Promise<void>
  }
}
