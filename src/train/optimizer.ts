// AdamW (Loshchilov & Hutter, decoupled weight decay) with the paper's schedule: linear warm-up over the first
// epoch to the peak learning rate, then cosine annealing to zero at the last step. Its state (moments and step)
// is plain tensors the checkpoint saves, so a resumed run takes exactly the steps an uninterrupted one would.
import * as tf from '@tensorflow/tfjs-core'
import { fusedAdamW } from '../model/wasm-kernels.js'

export interface AdamWConfig {
  /** Peak learning rate (default 1e-4, the paper's). */
  peakLr: number
  beta1: number
  beta2: number
  epsilon: number
  /** Decoupled weight decay (default 1e-5, the paper's), applied as θ -= lr · wd · θ. */
  weightDecay: number
  /** Clip gradients to this global L2 norm; 0 = no clipping (default 0). */
  clipNorm: number
}
export const ADAMW_DEFAULTS: AdamWConfig = { peakLr: 1e-4, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 1e-5, clipNorm: 0 }

/** Learning rate at `step` (0-based): linear warm-up over `warmupSteps`, then cosine to 0 at `totalSteps`. */
export function learningRateAt(step: number, { peakLr, warmupSteps, totalSteps }: { peakLr: number; warmupSteps: number; totalSteps: number }): number {
  if (warmupSteps > 0 && step < warmupSteps) return (peakLr * (step + 1)) / warmupSteps
  const span = Math.max(1, totalSteps - warmupSteps)
  const progress = Math.min(1, Math.max(0, (step - warmupSteps) / span))
  return 0.5 * peakLr * (1 + Math.cos(Math.PI * progress))
}

/** Moments of one parameter. */
interface Moments {
  m: tf.Variable
  v: tf.Variable
}

/** For the tests: with fused false, the update runs as tensor operations on every backend. */
export const adamWInternals = { fused: true }

export class AdamW {
  readonly config: AdamWConfig
  /** Updates applied so far (bias correction uses it). */
  step = 0
  private readonly moments = new Map<string, Moments>()

  constructor(config: Partial<AdamWConfig> = {}) {
    this.config = { ...ADAMW_DEFAULTS, ...config }
  }

  /**
   * Apply one update with learning rate `lr` to `params` (name -> variable) from `grads` (name -> gradient).
   * Returns the global gradient norm before clipping. Does not dispose `grads`.
   */
  apply(params: ReadonlyMap<string, tf.Variable>, grads: Readonly<Record<string, tf.Tensor>>, lr: number): number {
    const { beta1, beta2, epsilon, weightDecay, clipNorm } = this.config
    const names = [...params.keys()].filter((n) => grads[n] !== undefined)
    // On wasm, one kernel per parameter does what the tensor operations below do, bit for bit (wasm-kernels.ts).
    const fused = adamWInternals.fused ? fusedAdamW() : null
    const squares = (g: tf.Tensor): number => (fused !== null ? fused.sumOfSquares(g) : (tf.sum(tf.square(g)).dataSync()[0] ?? 0))
    const norm = tf.tidy(() => Math.sqrt(names.reduce((sum, n) => sum + squares(grads[n]!), 0)))
    const scale = clipNorm > 0 && norm > clipNorm ? clipNorm / norm : 1
    this.step += 1
    const correction1 = 1 - beta1 ** this.step
    const correction2 = 1 - beta2 ** this.step
    for (const name of names) {
      const param = params.get(name)!
      let state = this.moments.get(name)
      if (state === undefined) {
        state = { m: tf.variable(tf.zerosLike(param), false), v: tf.variable(tf.zerosLike(param), false) }
        this.moments.set(name, state)
      }
      const { m, v } = state
      if (fused !== null) {
        tf.tidy(() => {
          const [p2, m2, v2] = fused.update(param, m, v, grads[name]!, { scale, beta1, beta2, correction1, correction2, epsilon, weightDecay, lr })
          m.assign(m2)
          v.assign(v2)
          param.assign(p2)
        })
        continue
      }
      tf.tidy(() => {
        const g = scale === 1 ? grads[name]! : tf.mul(grads[name]!, scale)
        m.assign(tf.add(tf.mul(m, beta1), tf.mul(g, 1 - beta1)))
        v.assign(tf.add(tf.mul(v, beta2), tf.mul(tf.square(g), 1 - beta2)))
        const update = tf.div(tf.div(m, correction1), tf.add(tf.sqrt(tf.div(v, correction2)), epsilon))
        // Decoupled decay: shrink the weight directly, not through the gradient (the W in AdamW).
        param.assign(tf.sub(param, tf.mul(tf.add(update, tf.mul(param, weightDecay)), lr)))
      })
    }
    return norm
  }

  /** Moments as named tensors for a checkpoint (`<name>/m`, `<name>/v`), plus the step. */
  state(): { step: number; tensors: Record<string, tf.Tensor> } {
    const tensors: Record<string, tf.Tensor> = {}
    for (const [name, { m, v }] of this.moments) {
      tensors[`${name}/m`] = m
      tensors[`${name}/v`] = v
    }
    return { step: this.step, tensors }
  }

  /** Restore from `state()` output (tensors are copied). */
  load({ step, tensors }: { step: number; tensors: Record<string, tf.Tensor> }): void {
    this.dispose()
    this.step = step
    for (const key of Object.keys(tensors)) {
      const match = /^(.*)\/(m|v)$/.exec(key)
      if (!match) throw new Error(`AdamW.load: unexpected state tensor ${key}`)
      const name = match[1]!
      if (!this.moments.has(name)) {
        const m = tensors[`${name}/m`]
        const v = tensors[`${name}/v`]
        if (!m || !v) throw new Error(`AdamW.load: ${name} lacks its m or v moment`)
        this.moments.set(name, { m: tf.variable(m.clone(), false), v: tf.variable(v.clone(), false) })
      }
    }
  }

  dispose(): void {
    for (const { m, v } of this.moments.values()) {
      m.dispose()
      v.dispose()
    }
    this.moments.clear()
  }
}
