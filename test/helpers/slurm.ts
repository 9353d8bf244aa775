// A real one-node Slurm cluster for the scale-out tests: Debian's munge and slurm-wlm (installed by .ci/run), a
// munge key and a slurm.conf in a temporary folder (this host as controller and only node, on 127.0.0.1, free
// ports, no accounting, no cgroups), munged, slurmctld and slurmd in the foreground as this process's children,
// stopped (jobs cancelled first) by stop(). Nothing of the machine's own Slurm or munge setup is read or changed.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdir, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { hostname, cpus, totalmem } from 'node:os'
import { join } from 'node:path'
import { tempDir } from './temp.js'

export interface SlurmCluster {
  /** environment for sbatch, squeue, scontrol (SLURM_CONF) */
  env: NodeJS.ProcessEnv
  dir: string
  /** run a Slurm command; throws with its stderr when it fails */
  run(command: string, args: readonly string[], env?: NodeJS.ProcessEnv): string
  /** job states by "<job>" or "<job>_<task>" (scontrol show job), for one job id; completed jobs stay listed for MinJobAge */
  states(job: string): Map<string, string>
  /** wait until every task of `job` has left PENDING/RUNNING/COMPLETING; returns the final states */
  waitFor(job: string, timeoutMs?: number): Promise<Map<string, string>>
  stop(): Promise<void>
}

const has = (binary: string): boolean => spawnSync('sh', ['-c', `command -v ${binary}`]).status === 0

/** Why the cluster cannot be had here, or null when it can. */
export function slurmUnavailable(): string | null {
  const missing = ['munged', 'mungekey', 'slurmctld', 'slurmd', 'sbatch', 'scontrol'].filter((b) => !has(b))
  if (missing.length > 0) return `Slurm is not installed (${missing.join(', ')} missing): .ci/run installs slurm-wlm and munge with apt-get as root`
  if (process.getuid?.() !== 0) return 'the test Slurm cluster runs its daemons as root (SlurmUser=root); this process is not root'
  return null
}

async function freePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

async function waitUntil(what: string, test: () => boolean, timeoutMs: number, children: ChildProcess[]): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!test()) {
    const dead = children.find((c) => c.exitCode !== null)
    if (dead) throw new Error(`${dead.spawnfile} exited with ${dead.exitCode} while waiting for ${what}`)
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 200))
  }
}

export async function startSlurm(): Promise<SlurmCluster> {
  const dir = await tempDir('slurm-')
  for (const sub of ['munge', 'state', 'spool', 'logs']) await mkdir(join(dir, sub))
  const key = join(dir, 'munge', 'munge.key')
  const socket = join(dir, 'munge', 'munge.sock')
  const made = spawnSync('mungekey', ['--create', `--keyfile=${key}`, '--force'], { encoding: 'utf8' })
  if (made.status !== 0) throw new Error(`mungekey failed: ${made.stderr}`)
  const host = hostname().split('.')[0]!
  const [ctldPort, slurmdPort] = [await freePort(), await freePort()]
  const memoryMb = Math.floor((totalmem() / 2 ** 20) * 0.8)
  const conf = join(dir, 'slurm.conf')
  await writeFile(conf, [
    'ClusterName=turnkit-test',
    `SlurmctldHost=${host}(127.0.0.1)`,
    `SlurmctldPort=${ctldPort}`,
    `SlurmdPort=${slurmdPort}`,
    'AuthType=auth/munge',
    `AuthInfo=socket=${socket}`,
    'CredType=cred/munge',
    'SlurmUser=root',
    'SlurmdUser=root',
    `StateSaveLocation=${join(dir, 'state')}`,
    `SlurmdSpoolDir=${join(dir, 'spool')}`,
    `SlurmctldPidFile=${join(dir, 'slurmctld.pid')}`,
    `SlurmdPidFile=${join(dir, 'slurmd.pid')}`,
    `SlurmctldLogFile=${join(dir, 'logs', 'slurmctld.log')}`,
    `SlurmdLogFile=${join(dir, 'logs', 'slurmd.log')}`,
    'ProctrackType=proctrack/linuxproc',
    'TaskPlugin=task/none',
    'SelectType=select/cons_tres',
    'SelectTypeParameters=CR_Core',
    'SchedulerType=sched/builtin',
    'MpiDefault=none',
    'ReturnToService=2',
    'MinJobAge=600', // finished jobs stay visible to scontrol for the test's checks
    'KillWait=5',
    'JobAcctGatherType=jobacct_gather/none',
    'AccountingStorageType=accounting_storage/none',
    `NodeName=${host} NodeAddr=127.0.0.1 CPUs=${cpus().length} RealMemory=${memoryMb} State=UNKNOWN`,
    `PartitionName=test Nodes=${host} Default=YES MaxTime=INFINITE State=UP`,
    '',
  ].join('\n'))
  const env: NodeJS.ProcessEnv = { ...process.env, SLURM_CONF: conf }
  const children: ChildProcess[] = []
  const daemon = (command: string, args: string[]): ChildProcess => {
    const child = spawn(command, args, { env, stdio: ['ignore', 'ignore', 'pipe'] })
    children.push(child)
    return child
  }
  daemon('munged', ['--foreground', '--force', `--key-file=${key}`, `--socket=${socket}`, `--pid-file=${join(dir, 'munge', 'munged.pid')}`, `--log-file=${join(dir, 'munge', 'munged.log')}`, `--seed-file=${join(dir, 'munge', 'seed')}`])
  const run = (command: string, args: readonly string[], extra: NodeJS.ProcessEnv = {}): string => {
    const r = spawnSync(command, args, { env: { ...env, ...extra }, encoding: 'utf8' })
    if (r.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (${r.status}): ${r.stderr}`)
    return r.stdout
  }
  const quiet = (command: string, args: string[]): boolean => spawnSync(command, args, { env, encoding: 'utf8' }).status === 0
  const cluster: SlurmCluster = {
    env,
    dir,
    run,
    states(job) {
      const r = spawnSync('scontrol', ['show', 'job', '--oneliner', job], { env, encoding: 'utf8' })
      const states = new Map<string, string>()
      for (const line of r.stdout.split('\n')) {
        const id = /\bJobId=(\d+)/.exec(line)?.[1]
        const state = /\bJobState=(\S+)/.exec(line)?.[1]
        if (!id || !state) continue
        const array = /\bArrayJobId=(\d+) ArrayTaskId=(\S+)/.exec(line)
        states.set(array ? `${array[1]}_${array[2]}` : id, state)
      }
      return states
    },
    async waitFor(job, timeoutMs = 180_000) {
      const active = new Set(['PENDING', 'RUNNING', 'COMPLETING', 'CONFIGURING', 'SUSPENDED', 'REQUEUED'])
      let states = new Map<string, string>()
      await waitUntil(`job ${job}`, () => {
        states = cluster.states(job)
        return states.size > 0 && [...states.values()].every((s) => !active.has(s))
      }, timeoutMs, children)
      return states
    },
    async stop() {
      spawnSync('scancel', ['--full', '--user', 'root'], { env })
      await new Promise((r) => setTimeout(r, 500))
      for (const child of children.reverse()) {
        if (child.exitCode !== null) continue
        child.kill('SIGTERM')
        await new Promise((r) => {
          const timer = setTimeout(() => { child.kill('SIGKILL'); r(undefined) }, 5000)
          child.once('exit', () => { clearTimeout(timer); r(undefined) })
        })
      }
    },
  }
  try {
    await waitUntil('munged', () => quiet('sh', ['-c', `test -S ${socket}`]), 10_000, children)
    daemon('slurmctld', ['-D', '-i', '-f', conf])
    await waitUntil('slurmctld', () => quiet('scontrol', ['ping']), 30_000, children)
    daemon('slurmd', ['-D', '-f', conf])
    await waitUntil('the node to be idle', () => /idle/.test(spawnSync('sinfo', ['--noheader', '-o', '%t'], { env, encoding: 'utf8' }).stdout), 30_000, children)
  } catch (error) {
    await cluster.stop()
    throw error
  }
  return cluster
}
