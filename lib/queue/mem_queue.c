/* mem_queue.c - mutex + condition variable FIFO. See mem_queue.h. */
#include "queue/mem_queue.h"

#include <pthread.h>
#include <stdlib.h>

#include "core/mem.h"

struct node {
    struct node *next;
    void *msg;
};

struct mem_queue {
    pthread_mutex_t lock;
    pthread_cond_t ready;
    struct node *head, *tail;
    bool closed;
};

struct mem_queue *mem_queue_new(void)
{
    struct mem_queue *q = xcalloc(1, sizeof(*q));

    pthread_mutex_init(&q->lock, NULL);
    pthread_cond_init(&q->ready, NULL);
    return q;
}

void mem_queue_free(struct mem_queue *q)
{
    struct node *n;

    if (q == NULL) {
        return;
    }
    while ((n = q->head) != NULL) {
        q->head = n->next;
        free(n);
    }
    pthread_cond_destroy(&q->ready);
    pthread_mutex_destroy(&q->lock);
    free(q);
}

void mem_queue_push(struct mem_queue *q, void *msg)
{
    struct node *n = xcalloc(1, sizeof(*n));

    n->msg = msg;
    pthread_mutex_lock(&q->lock);
    if (q->tail != NULL) {
        q->tail->next = n;
    } else {
        q->head = n;
    }
    q->tail = n;
    pthread_cond_signal(&q->ready);
    pthread_mutex_unlock(&q->lock);
}

bool mem_queue_pop(struct mem_queue *q, void **msg)
{
    struct node *n;

    pthread_mutex_lock(&q->lock);
    while (q->head == NULL && !q->closed) {
        pthread_cond_wait(&q->ready, &q->lock);
    }
    n = q->head;
    if (n != NULL) {
        q->head = n->next;
        if (q->head == NULL) {
            q->tail = NULL;
        }
    }
    pthread_mutex_unlock(&q->lock);
    if (n == NULL) {
        return false;
    }
    *msg = n->msg;
    free(n);
    return true;
}

void mem_queue_close(struct mem_queue *q)
{
    pthread_mutex_lock(&q->lock);
    q->closed = true;
    pthread_cond_broadcast(&q->ready);
    pthread_mutex_unlock(&q->lock);
}
