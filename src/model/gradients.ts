// Gradients of the kernels TURN uses. @tensorflow/tfjs-core's Node build (dist/tf-core.node.js) registers no
// gradients at all: the @tensorflow/tfjs umbrella package does that, and turnkit depends on core + backends only.
// So this module registers, for each kernel on a gradient path of the model, the same rule as tfjs-core's own
// src/gradients/*_grad.ts, written with the public ops. A kernel that already has a gradient (the umbrella or
// tfjs-node loaded it) keeps it. Non-differentiable kernels on a path (comparisons, argMin, oneHot) get zeros,
// as in tfjs-core, because the tape throws on a node without a gradient function.

import * as tf from '@tensorflow/tfjs-core'

type Saved = tf.Tensor[]
type Grad = (dy: tf.Tensor, saved: Saved, attrs: Record<string, unknown>) => Record<string, () => tf.Tensor>

/** dy summed over the axes along which `shape` was broadcast to dy's shape, reshaped to `shape`. */
function unbroadcast(dy: tf.Tensor, shape: number[]): tf.Tensor {
  const axes = tf.broadcast_util.getReductionAxes(shape, dy.shape)
  return tf.reshape(axes.length > 0 ? tf.sum(dy, axes) : dy, shape)
}

// Float32 even for int inputs: the tape checks that every gradient is float32.
const zeros = (x: tf.Tensor) => (): tf.Tensor => tf.zeros(x.shape, 'float32')
const axesOf = (attr: unknown, rank: number): number[] => tf.util.parseAxisParam(attr as number | number[], [...Array(rank).keys()].map(() => 1))

/** Broadcast dy of a reduction over `axes` back to x's shape. */
function unreduce(dy: tf.Tensor, x: tf.Tensor, axes: number[]): tf.Tensor {
  const kept = x.shape.map((d, i) => (axes.includes(i) ? 1 : d))
  return tf.mul(tf.reshape(dy, kept), tf.onesLike(x))
}

const RULES: Record<string, { save: string[]; saveOutputs?: boolean; grad: Grad }> = {
  Add: { save: ['a', 'b'], grad: (dy, [a, b]) => ({ a: () => unbroadcast(dy, a!.shape), b: () => unbroadcast(dy, b!.shape) }) },
  Sub: { save: ['a', 'b'], grad: (dy, [a, b]) => ({ a: () => unbroadcast(dy, a!.shape), b: () => unbroadcast(tf.neg(dy), b!.shape) }) },
  Multiply: {
    save: ['a', 'b'],
    grad: (dy, [a, b]) => ({ a: () => unbroadcast(tf.mul(dy, tf.cast(b!, 'float32')), a!.shape), b: () => unbroadcast(tf.mul(dy, tf.cast(a!, 'float32')), b!.shape) }),
  },
  RealDiv: {
    save: ['a', 'b'],
    grad: (dy, [a, b]) => ({
      a: () => unbroadcast(tf.div(dy, b!), a!.shape),
      b: () => unbroadcast(tf.neg(tf.div(tf.mul(dy, a!), tf.square(b!))), b!.shape),
    }),
  },
  Maximum: {
    save: ['a', 'b'],
    grad: (dy, [a, b]) => ({
      a: () => unbroadcast(tf.mul(dy, tf.cast(tf.greaterEqual(a!, b!), 'float32')), a!.shape),
      b: () => unbroadcast(tf.mul(dy, tf.cast(tf.less(a!, b!), 'float32')), b!.shape),
    }),
  },
  Minimum: {
    save: ['a', 'b'],
    grad: (dy, [a, b]) => ({
      a: () => unbroadcast(tf.mul(dy, tf.cast(tf.lessEqual(a!, b!), 'float32')), a!.shape),
      b: () => unbroadcast(tf.mul(dy, tf.cast(tf.greater(a!, b!), 'float32')), b!.shape),
    }),
  },
  SquaredDifference: {
    save: ['a', 'b'],
    grad: (dy, [a, b]) => {
      const two = tf.mul(2, tf.sub(a!, b!))
      return { a: () => unbroadcast(tf.mul(dy, two), a!.shape), b: () => unbroadcast(tf.mul(dy, tf.neg(two)), b!.shape) }
    },
  },
  Neg: { save: [], grad: (dy) => ({ x: () => tf.neg(dy) }) },
  Abs: { save: ['x'], grad: (dy, [x]) => ({ x: () => tf.mul(dy, tf.step(tf.cast(x!, 'float32'), -1)) }) },
  Square: { save: ['x'], grad: (dy, [x]) => ({ x: () => tf.mul(dy, tf.mul(tf.cast(x!, 'float32'), 2)) }) },
  Sqrt: { save: ['x'], grad: (dy, [x]) => ({ x: () => tf.div(dy, tf.mul(tf.sqrt(tf.cast(x!, 'float32')), 2)) }) },
  Exp: { save: [], saveOutputs: true, grad: (dy, [y]) => ({ x: () => tf.mul(dy, y!) }) },
  Log: { save: ['x'], grad: (dy, [x]) => ({ x: () => tf.div(dy, tf.cast(x!, 'float32')) }) },
  Relu: { save: ['x'], grad: (dy, [x]) => ({ x: () => tf.mul(dy, tf.step(tf.cast(x!, 'float32'))) }) },
  Sigmoid: { save: [], saveOutputs: true, grad: (dy, [y]) => ({ x: () => tf.mul(dy, tf.mul(y!, tf.sub(1, y!))) }) },
  Softplus: { save: ['x'], grad: (dy, [x]) => ({ x: () => tf.mul(dy, tf.sigmoid(x!)) }) },
  Softmax: {
    save: [],
    saveOutputs: true,
    grad: (dy, [y], attrs) => {
      const dim = attrs.dim as number
      return { logits: () => tf.mul(y!, tf.sub(dy, tf.sum(tf.mul(dy, y!), [dim], true))) }
    },
  },
  Sum: { save: ['x'], grad: (dy, [x], attrs) => ({ x: () => unreduce(dy, x!, axesOf(attrs.axis, x!.rank)) }) },
  Mean: {
    save: ['x'],
    grad: (dy, [x], attrs) => {
      const axes = axesOf(attrs.axis, x!.rank)
      const count = axes.reduce((n, a) => n * (x!.shape[a] as number), 1)
      return { x: () => tf.div(unreduce(dy, x!, axes), count) }
    },
  },
  ExpandDims: { save: ['input'], grad: (dy, [x]) => ({ input: () => tf.reshape(dy, x!.shape) }) },
  Reshape: { save: ['x'], grad: (dy, [x]) => ({ x: () => tf.reshape(dy, x!.shape) }) },
  Transpose: {
    save: [],
    grad: (dy, _s, attrs) => {
      const perm = attrs.perm as number[]
      const inverse = perm.map((_, i) => perm.indexOf(i))
      return { x: () => tf.transpose(dy, inverse) }
    },
  },
  Slice: {
    save: ['x'],
    grad: (dy, [x], attrs) => {
      const [begin, size] = tf.slice_util.parseSliceParams(x!, attrs.begin as number[], attrs.size as number[])
      const paddings = x!.shape.map((d, i) => [begin[i]!, d - begin[i]! - size[i]!] as [number, number])
      return { x: () => tf.pad(dy, paddings) }
    },
  },
  PadV2: {
    save: ['x'],
    grad: (dy, [x], attrs) => {
      const paddings = attrs.paddings as [number, number][]
      return { x: () => tf.slice(dy, paddings.map((p) => p[0]), x!.shape) }
    },
  },
  Cast: { save: [], grad: (dy) => ({ x: () => tf.clone(dy) }) },
  Identity: { save: [], grad: (dy) => ({ x: () => tf.cast(dy, 'float32') }) },
  Select: {
    save: ['condition'],
    grad: (dy, [condition]) => ({
      condition: () => tf.cast(tf.zerosLike(condition!), 'float32'),
      t: () => tf.mul(dy, tf.cast(condition!, dy.dtype)),
      e: () => tf.mul(dy, tf.cast(tf.logicalNot(condition!), dy.dtype)),
    }),
  },
  BatchMatMul: {
    save: ['a', 'b'],
    grad: (dy, [a, b], attrs) => {
      const ta = attrs.transposeA as boolean
      const tb = attrs.transposeB as boolean
      const mm = (x: tf.Tensor, y: tf.Tensor, tx: boolean, ty: boolean): tf.Tensor => tf.matMul(x as tf.Tensor3D, y as tf.Tensor3D, tx, ty)
      if (!ta && !tb) return { a: () => mm(dy, b!, false, true), b: () => mm(a!, dy, true, false) }
      if (!ta && tb) return { a: () => mm(dy, b!, false, false), b: () => mm(dy, a!, true, false) }
      if (ta && !tb) return { a: () => mm(b!, dy, false, true), b: () => mm(a!, dy, false, false) }
      return { a: () => mm(b!, dy, true, true), b: () => mm(dy, a!, true, true) }
    },
  },
}

// Kernels with no gradient whose output may lie on a path from a variable (tfjs-core gives these zeros too).
const ZERO_GRAD: Record<string, string[]> = {
  Less: ['a', 'b'], LessEqual: ['a', 'b'], Greater: ['a', 'b'], GreaterEqual: ['a', 'b'], Equal: ['a', 'b'], NotEqual: ['a', 'b'],
  ArgMin: ['x'], ArgMax: ['x'], OneHot: ['indices'], Step: ['x'], Floor: ['x'], Round: ['x'], ZerosLike: ['x'], OnesLike: ['x'],
}

/** Registers every missing gradient above; idempotent. Returns the kernel names it registered. */
export function registerGradients(): string[] {
  const registered: string[] = []
  const add = (config: tf.GradConfig): void => {
    if (tf.getGradient(config.kernelName) !== undefined) return
    tf.registerGradient(config)
    registered.push(config.kernelName)
  }
  for (const [kernelName, rule] of Object.entries(RULES)) {
    add({
      kernelName,
      inputsToSave: rule.save,
      outputsToSave: rule.saveOutputs ? [true] : undefined,
      gradFunc: ((dy: tf.Tensor, saved: tf.Tensor[], attrs: Record<string, unknown>) => rule.grad(dy, saved, attrs)) as tf.GradConfig['gradFunc'],
    })
  }
  // Concat needs every input's shape: save all inputs (their number varies, so save them by position).
  add({
    kernelName: 'Concat',
    saveAllInputs: true,
    gradFunc: ((dy: tf.Tensor, saved: tf.Tensor[], attrs: Record<string, unknown>) => {
      const axis = tf.util.parseAxisParam(attrs.axis as number, saved[0]!.shape)[0]!
      const parts = tf.split(dy, saved.map((t) => t.shape[axis] as number), axis)
      return Object.fromEntries(parts.map((p, i) => [i, () => p]))
    }) as tf.GradConfig['gradFunc'],
  })
  add({
    kernelName: 'Unpack',
    gradFunc: ((dy: tf.Tensor | tf.Tensor[], _saved: tf.Tensor[], attrs: Record<string, unknown>) => ({
      value: () => tf.stack(dy as tf.Tensor[], attrs.axis as number),
    })) as unknown as tf.GradConfig['gradFunc'],
  })
  // AddN and Pack take a list of inputs, keyed by position.
  add({
    kernelName: 'AddN',
    saveAllInputs: true,
    gradFunc: ((dy: tf.Tensor, saved: tf.Tensor[]) => Object.fromEntries(saved.map((_, i) => [i, () => tf.clone(dy)]))) as tf.GradConfig['gradFunc'],
  })
  add({
    kernelName: 'Pack',
    gradFunc: ((dy: tf.Tensor, _saved: tf.Tensor[], attrs: Record<string, unknown>) =>
      Object.fromEntries(tf.unstack(dy, attrs.axis as number).map((t, i) => [i, () => t]))) as tf.GradConfig['gradFunc'],
  })
  for (const [kernelName, inputs] of Object.entries(ZERO_GRAD)) {
    add({
      kernelName,
      inputsToSave: inputs,
      gradFunc: ((_dy: tf.Tensor, saved: tf.Tensor[]) =>
        Object.fromEntries(inputs.map((name, i) => [name, zeros(saved[i]!)]))) as tf.GradConfig['gradFunc'],
    })
  }
  return registered
}
