// Capture files fed by packet sockets: what the HTTP capture routes and the
// WebSocket stream build on. No fastify, no ws here.
export { CaptureSession, type CaptureEndReason, type CaptureFormat, type CaptureOptions, type CaptureSink } from './session.ts';
export { PcapStreamWriter, type PcapWriterOptions } from './pcap-writer.ts';
export { PcapngStreamWriter, type CaptureInterface, type CaptureStatistics, type PcapngWriterOptions } from './pcapng-writer.ts';
export { ChunkBuffer } from './chunk-buffer.ts';
export { SocketDrain } from './socket-drain.ts';
export { putPcapTimestamp, putPcapngTimestamp, tstampToNs } from './timestamp.ts';
export { checkSnaplen } from './snaplen.ts';
