/* mem_queue.h - the shard queue of the single-machine mode: an unbounded, blocking FIFO of
 * messages between threads of one process (tasks to workers, results back).
 *
 * Owns ordering (first in, first out), blocking until a message or close, and shutdown: after
 * mem_queue_close, pops drain what is left and then return false. Messages are opaque pointers
 * whose ownership passes from pusher to popper. */
#ifndef BZ_MEM_QUEUE_H
#define BZ_MEM_QUEUE_H

#include <stdbool.h>

struct mem_queue;

struct mem_queue *mem_queue_new(void);
/* Frees the queue; messages still in it are not freed (drain it first). */
void mem_queue_free(struct mem_queue *q);

void mem_queue_push(struct mem_queue *q, void *msg);

/* Blocks until a message is available (true, *msg set) or the queue is closed and empty
 * (false). */
bool mem_queue_pop(struct mem_queue *q, void **msg);

/* Wakes every waiter; later pushes are still accepted and popped. */
void mem_queue_close(struct mem_queue *q);

#endif
