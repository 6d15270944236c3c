export * from './skbuff.ts';
export * from './queue.ts';
export * from './pool.ts';
export * from './panic.ts';
export * from './drop-reason.ts';
