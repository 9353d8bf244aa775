// A replica of the model in a worker thread (replicas.ts): its own tfjs backend on one core, its own copy of the
// model, loaded from the shared parameter buffer at the start of each step; computes pass 1 and the gradients of
// the slices it is sent, in the order it is sent them.
import * as tf from '@tensorflow/tfjs-core'
import type { MessagePort } from 'node:worker_threads'
import { activate, type BackendChoice } from './backend.js'
import { setMatMulThreads } from './wasm-kernels.js'
import { createTurn, type TurnBatch } from './turn.js'
import { disposeBatch } from './synthetic.js'
import { batchFromWire, fromWire, toWire, viewOf, type ReplicaReply, type ReplicaRequest, type ReplicaStart } from './replicas.js'

const CHOICES: Record<string, BackendChoice> = { wasm: 'wasm', cpu: 'cpu' }

export async function runReplica(port: MessagePort, start: ReplicaStart): Promise<void> {
  const reply = (message: ReplicaReply): void => port.postMessage(message)
  const choice = CHOICES[start.backend]
  if (choice === undefined) throw new Error(`no replica for tfjs backend '${start.backend}'`)
  await activate(choice)
  if (start.backend === 'wasm') setMatMulThreads(1) // the other cores run the other replicas
  const model = createTurn(start.config, { seed: 0 })
  const names = [...model.parameters.keys()]
  if (names.join('\n') !== start.parameterLayout.names.join('\n')) throw new Error('the replica built a model with other parameters than the main thread')
  const trainable = [...model.trainableParameters.keys()]
  const slices = new Map<number, TurnBatch>()
  const disposeSlice = (k: number): void => {
    const slice = slices.get(k)
    if (slice !== undefined) disposeBatch(slice)
    slices.delete(k)
  }
  const handle = (request: ReplicaRequest): void => {
    if (request.type === 'load') {
      start.parameterLayout.names.forEach((name, i) => {
        const v = model.parameters.get(name)!
        const values = viewOf(start.parameters, start.parameterLayout, i, v.dtype as 'float32' | 'int32').slice()
        tf.tidy(() => v.assign(tf.tensor(values, v.shape, v.dtype)))
      })
    } else if (request.type === 'pool') {
      disposeSlice(request.k)
      const slice = batchFromWire(request.slice)
      slices.set(request.k, slice)
      const [text, audio] = model.pooledIntermediate(slice)
      reply({ type: 'pooled', k: request.k, text: toWire(text), audio: toWire(audio) })
      tf.dispose([text, audio])
    } else if (request.type === 'grads') {
      const slice = slices.get(request.k)
      if (slice === undefined) throw new Error(`gradients of slice ${request.k} asked before its pass 1`)
      const part = { weights: request.weights, contrastGrads: { text: fromWire(request.text) as tf.Tensor2D, audio: fromWire(request.audio) as tf.Tensor2D } }
      const out = model.sliceGradients(slice, part)
      tf.dispose([part.contrastGrads.text, part.contrastGrads.audio])
      disposeSlice(request.k)
      const buffer = start.gradients[request.buffer]!
      const present = trainable.map((name, i) => {
        const grad = out.grads[name]
        if (grad === undefined) return false
        ;(viewOf(buffer, start.gradientLayout, i, 'float32') as Float32Array).set(grad.dataSync() as Float32Array)
        return true
      })
      tf.dispose(Object.values(out.grads))
      reply({ type: 'grads', k: request.k, buffer: request.buffer, present, losses: out.losses, assignments: out.assignments })
    } else {
      for (const k of [...slices.keys()]) disposeSlice(k)
      model.dispose()
      port.close()
    }
  }
  port.on('message', (request: ReplicaRequest) => {
    try {
      handle(request)
    } catch (error) {
      reply({ type: 'error', message: error instanceof Error ? error.message : String(error) })
    }
  })
  reply({ type: 'ready' })
}
