// An S3-compatible server (s3rver) in its own process, so a test can kill it with SIGKILL and start it again on
// the same port and folder. Usage: node --import tsx s3-server-process.ts <directory> <port>; prints `ready <port>`.
import S3rver from 's3rver'

const [directory, port] = process.argv.slice(2)
const server = new S3rver({ address: '127.0.0.1', port: Number(port ?? 0), directory: directory!, silent: true })
const address = await server.run()
process.stdout.write(`ready ${address.port}\n`)
process.on('SIGTERM', () => void server.close().then(() => process.exit(0)))
