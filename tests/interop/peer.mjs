// A js-libp2p peer for BackUp's interop test (tests/interop/test_js_libp2p.py drives it).
//
// Stock js-libp2p throughout: TCP, Noise, yamux, identify and ping, and BackUp's federation
// protocol framed with `it-length-prefixed` (unsigned-varint length prefixes, as libp2p
// protocols frame messages). The peer signs nothing itself: the Python test seals the
// envelopes it is given, and verifies what it gets back. Messages cross stdin and stdout as
// hex of the frame bodies (signed envelopes); framing them is it-length-prefixed's job here.
//
// It reads one JSON command per line on stdin and writes one JSON event per line on stdout:
//   {"mode": "dial", "seed": hex, "peer_id": id, "addr": multiaddr with /p2p/, "protocol": id,
//    "bodies": [hex]}
//     -> {"identify": {...}, "rtt": ms, "encryption": id, "multiplexer": id, "protocol": id,
//         "responses": [hex]}
//   {"mode": "listen", "seed": hex, "protocol": id}
//     -> {"listening": [multiaddr], "peer_id": id}, then for each request on the protocol
//        {"request": hex, "remote": peer id, "stream": id, "encryption": id,
//         "multiplexer": id}, answered by the next
//        {"response": hex} line;
//        {"identified": {...}} and {"pinged": ms} for the peer that connects; {"stop": true}
//        ends it.
import { createInterface } from 'node:readline'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { generateKeyPairFromSeed } from '@libp2p/crypto/keys'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { multiaddr } from '@multiformats/multiaddr'
import * as lp from 'it-length-prefixed'
import { pushable } from 'it-pushable'
import { createLibp2p } from 'libp2p'

const MAX_FRAME_BYTES = 1 << 20 // protocol.framing.MAX_FRAME_BYTES
const TIMEOUT_MS = 20_000

const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]()
const emit = (event) => process.stdout.write(JSON.stringify(event) + '\n')
const hex = (bytes) => Buffer.from(bytes).toString('hex')
const unhex = (text) => Uint8Array.from(Buffer.from(text, 'hex'))

async function nextCommand () {
  const { value, done } = await lines.next()
  if (done) throw new Error('stdin closed')
  return JSON.parse(value)
}

async function newNode (seed, listen) {
  return createLibp2p({
    privateKey: await generateKeyPairFromSeed('Ed25519', unhex(seed)),
    addresses: { listen },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: { identify: identify(), ping: ping() }
  })
}

function identified (node, peerId) {
  return new Promise((resolve) => {
    node.addEventListener('peer:identify', (event) => {
      const result = event.detail
      if (peerId === undefined || result.peerId.toString() === peerId) {
        resolve({
          peer: result.peerId.toString(),
          protocols: result.protocols,
          agentVersion: result.agentVersion,
          protocolVersion: result.protocolVersion
        })
      }
    })
  })
}

async function dial (command) {
  const node = await newNode(command.seed, [])
  try {
    const addr = multiaddr(command.addr)
    const signal = AbortSignal.timeout(TIMEOUT_MS)
    const identifying = identified(node, command.peer_id)
    const connection = await node.dial(addr, { signal })
    const identify = await identifying
    const rtt = await node.services.ping.ping(addr, { signal })
    // Every request on one stream: the federation's responder answers frame after frame.
    const stream = await node.dialProtocol(addr, command.protocol, { signal })
    const requests = pushable()
    const sending = stream.sink(lp.encode(requests))
    const answers = lp.decode(stream.source, { maxDataLength: MAX_FRAME_BYTES })[Symbol.asyncIterator]()
    const responses = []
    for (const body of command.bodies) {
      requests.push(unhex(body))
      const { value, done } = await answers.next()
      if (done) throw new Error('stream ended before an answer')
      responses.push(hex(value.subarray()))
    }
    requests.end() // our half-close: the responder ends the stream in turn
    await sending
    const { done } = await answers.next()
    if (!done) throw new Error('an answer nobody asked for')
    emit({
      identify,
      rtt,
      encryption: connection.encryption,
      multiplexer: connection.multiplexer,
      protocol: stream.protocol,
      responses
    })
  } finally {
    await node.stop()
  }
}

async function listen (command) {
  const node = await newNode(command.seed, ['/ip4/127.0.0.1/tcp/0'])
  node.addEventListener('peer:identify', async (event) => {
    const result = event.detail
    emit({
      identified: {
        peer: result.peerId.toString(),
        protocols: result.protocols,
        agentVersion: result.agentVersion
      }
    })
    try {
      emit({ pinged: await node.services.ping.ping(result.peerId, { signal: AbortSignal.timeout(TIMEOUT_MS) }) })
    } catch (err) {
      emit({ error: `ping: ${err.message}` })
    }
  })
  const pending = []
  await node.handle(command.protocol, async ({ stream, connection }) => {
    try {
      const answers = pushable()
      const sending = stream.sink(lp.encode(answers))
      for await (const request of lp.decode(stream.source, { maxDataLength: MAX_FRAME_BYTES })) {
        const answered = new Promise((resolve) => pending.push(resolve))
        emit({
          request: hex(request.subarray()),
          remote: connection.remotePeer.toString(),
          stream: stream.id,
          encryption: connection.encryption,
          multiplexer: connection.multiplexer
        })
        answers.push(unhex(await answered))
      }
      answers.end()
      await sending
    } catch (err) {
      emit({ error: `stream: ${err.message}` })
    }
  })
  emit({
    listening: node.getMultiaddrs().map((a) => a.toString()),
    peer_id: node.peerId.toString()
  })
  for (;;) {
    const next = await nextCommand()
    if (next.stop) break
    const resolve = pending.shift()
    if (resolve === undefined) throw new Error('a response with no request waiting')
    resolve(next.response)
  }
  await node.stop()
}

try {
  const command = await nextCommand()
  await (command.mode === 'dial' ? dial(command) : listen(command))
  process.exit(0)
} catch (err) {
  emit({ error: err.stack ?? String(err) })
  process.exit(1)
}
