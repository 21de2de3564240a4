// Handing a container the keys it needs to open what is sealed under the box key (the mint's seed),
// without the key ever lying on disk in clear or showing in `docker inspect`:
//   - the container gets a tmpfs at spec.unlockKeys.dir (RAM only, 0700, owned by its user);
//   - right after it starts, the supervisor runs a tiny writer in it with `docker exec`, the key
//     on stdin — not in a command line, an environment variable or a file on the host;
//   - the service waits for the file, reads it and removes it.
// An environment variable was the alternative and was rejected: it stays visible in
// `docker inspect` and in /proc/<pid>/environ for the container's whole life.
import type Docker from 'dockerode'
import { FlashError } from '../errors'
import type { ContainerSpec, UnlockKeys } from '../stack/spec'

/** What the supervisor needs of the box key (src/core/secrets/box-key.ts BoxKey fits). */
export interface Keyring {
  readonly state: 'none' | 'locked' | 'unlocked'
  /** The key for one purpose (HKDF from the box key); throws while locked. */
  subkey(purpose: string): Buffer
  /** Runs `fn` on every unlock (and now, when already unlocked). Returns a function that stops it. */
  onUnlock(fn: () => void): () => void
}

/** The tmpfs options for the keys folder: tiny, not executable, only the container's user. */
export function unlockKeysTmpfs(spec: ContainerSpec): Record<string, string> {
  const k = spec.unlockKeys
  if (!k) return {}
  const owner = /^(\d+):(\d+)$/.exec(spec.user ?? '')
  const ids = owner ? `,uid=${owner[1]},gid=${owner[2]}` : ''
  return { [k.dir]: `rw,nosuid,nodev,noexec,size=64k,mode=0700${ids}` }
}

// Reads stdin to the end and writes it to argv[1] (0600), via a temp name so the service never
// reads half a key. Runs with the image's own Node (the box's images have no shell).
const WRITER = [
  "const fs=require('fs');const p=process.argv[1];const c=[];",
  "process.stdin.on('data',(d)=>c.push(d)).on('end',()=>{",
  "fs.writeFileSync(p+'.part',Buffer.concat(c),{mode:0o600});fs.renameSync(p+'.part',p)})",
].join('')

/** The bytes each file gets: the hex subkey, or nothing when the box has no owner password yet. */
export function unlockKeyContents(keys: UnlockKeys, keyring: Keyring | undefined): Buffer[] {
  if (!keyring || keyring.state === 'none') return keys.files.map(() => Buffer.alloc(0))
  return keys.files.map((f) => Buffer.from(keyring.subkey(f.purpose).toString('hex')))
}

async function execWithStdin(
  docker: Docker,
  containerId: string,
  cmd: string[],
  user: string | undefined,
  input: Buffer,
  timeoutMs: number,
): Promise<number | null> {
  const exec = await docker.getContainer(containerId).exec({
    Cmd: cmd,
    AttachStdin: true,
    AttachStdout: true,
    AttachStderr: true,
    ...(user ? { User: user } : {}),
  })
  const stream = (await exec.start({ hijack: true, stdin: true })) as NodeJS.ReadWriteStream
  await new Promise<void>((resolveEnd, reject) => {
    const timer = setTimeout(() => {
      reject(new Error('the key writer did not finish'))
      ;(stream as unknown as { destroy?: () => void }).destroy?.()
    }, timeoutMs)
    const done = () => {
      clearTimeout(timer)
      resolveEnd()
    }
    stream.on('end', done)
    stream.on('close', done)
    stream.on('error', (e) => {
      clearTimeout(timer)
      reject(e)
    })
    stream.resume()
    stream.end(input)
  })
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const info = (await exec.inspect()) as { Running: boolean; ExitCode: number | null }
    if (!info.Running) return info.ExitCode
    if (Date.now() > deadline) return null
    await new Promise((r) => setTimeout(r, 50))
  }
}

/** Writes every key of spec.unlockKeys into the running container's tmpfs. */
export async function deliverUnlockKeys(
  docker: Docker,
  containerId: string,
  spec: ContainerSpec,
  keyring: Keyring | undefined,
  timeoutMs = 20_000,
): Promise<void> {
  const keys = spec.unlockKeys
  if (!keys) return
  const contents = unlockKeyContents(keys, keyring)
  try {
    for (const [i, f] of keys.files.entries()) {
      const target = `${keys.dir}/${f.name}`
      const code = await execWithStdin(
        docker,
        containerId,
        [keys.node, '-e', WRITER, target],
        spec.user,
        contents[i]!,
        timeoutMs,
      )
      if (code !== 0) throw new Error(`the key writer exited with ${code ?? 'no code'}`)
    }
  } finally {
    for (const c of contents) c.fill(0)
  }
}

export function keyDeliveryError(spec: ContainerSpec, cause: unknown): FlashError {
  return new FlashError(
    'stack.key_delivery_failed',
    `${spec.displayName} could not be given its key, so it was stopped again.`,
    'Press Start to try again. If it keeps failing, see its logs on the dashboard.',
    { cause },
  )
}
