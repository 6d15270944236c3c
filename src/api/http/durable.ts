// Acknowledged means saved: a request that changes something (POST, PUT,
// PATCH, DELETE) is answered 2xx only after the state file holds its change,
// fsync'd (StateSaver.commit, group commit). The wait sits in onSend, after
// the handler made the change and before a byte of the answer leaves, so a
// client that saw 2xx can count on the change surviving kill -9 or a power
// cut. When the write fails the change is made but not saved: the client gets
// 500 EIO saying so, never a 2xx.

import type { FastifyInstance } from 'fastify';
import { problem } from './problem.ts';
import { PROBLEM_CONTENT_TYPE } from './schemas/problem.ts';

/** Resolves once every change made so far is on disk; rejects when that write failed. */
export type CommitBarrier = () => Promise<void>;

const CHANGING_METHODS: ReadonlySet<string> = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export function installDurableAcks(app: FastifyInstance, commit: CommitBarrier): void {
  app.addHook('onSend', async (request, reply, payload) => {
    if (!CHANGING_METHODS.has(request.method) || reply.statusCode < 200 || reply.statusCode > 299) return payload;
    try {
      await commit();
      return payload;
    } catch (err) {
      request.log.error({ err }, 'a change was made but could not be saved to the state file');
      const body = problem(request, 500, 'EIO', `the change was made but could not be saved: ${(err as Error).message}`);
      reply.code(500).type(PROBLEM_CONTENT_TYPE);
      reply.removeHeader('location');
      reply.removeHeader('content-location');
      return JSON.stringify(body);
    }
  });
}
