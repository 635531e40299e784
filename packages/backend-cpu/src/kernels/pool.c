/* The resgrad thread pool: N-1 worker pthreads plus the calling thread.
 *
 * Why not OpenMP: measured from Node through koffi, an OpenMP region costs hundreds of
 * microseconds once its threads have gone to sleep, and Node processes that had run OpenMP
 * code segfaulted at exit (libgomp's threads outlive the objects they run). This pool is
 * small enough to reason about:
 *
 * - Dispatch: the caller publishes a job and bumps `generation`; workers watch it.
 * - Waiting: a worker spins (with pause) for `spin_ns` after its last job, so back-to-back
 *   kernels from JS (gaps of a few microseconds) are picked up in well under a microsecond;
 *   after that it sleeps on a condition variable, so an idle process burns no CPU.
 *   Lost wake-ups are excluded by a Dekker-style handshake on two seq_cst atomics: a worker
 *   increments `sleepers` and then re-reads `generation` (holding the mutex until it waits);
 *   the caller increments `generation` and then reads `sleepers`, broadcasting under the
 *   mutex when it is non-zero. One of the two always sees the other's write.
 * - Claiming: chunk t (t >= 1) is meant for worker t, but whoever first moves claim[t] from
 *   g-1 to g (one CAS; g is the job's generation) runs it. The caller, done with chunk 0,
 *   tries to claim every other chunk: a worker still asleep, spinning up, or descheduled by
 *   another process (other jobs share these cores) costs a chunk's work on the caller, not a
 *   wait for the scheduler to run that worker (measured: with both cores contended, static
 *   chunks made two threads slower than one). A worker only reads the job after winning its
 *   claim, and the caller cannot publish job g+1 before every chunk of g is done, so the
 *   job a worker reads is the one it claimed. Chunks stay the static ones, and `tid` stays
 *   the chunk's index whoever runs it, so per-tid partial results (conv weight grad) hold.
 * - Lateness: a worker that lost its claim was not running when its chunk was due (the
 *   OS gave it no core of its own, or put it on the caller's); spinning would then only
 *   take time from the caller, so it sleeps at once until the next job, and spins again
 *   after a claim it wins (a long kernel gives it time to wake and win one). Yielding
 *   while spinning was tried and dropped: on cores shared with other processes it handed
 *   the core away and left the caller to do every chunk.
 * - Completion: the runner of chunk t sets done[t] = g; the caller spins until every chunk
 *   a worker claimed is done (chunks are equal, so the wait is short).
 * - Shutdown: sets `stop`, wakes everyone and joins every worker. It runs from a library
 *   destructor (at exit() or dlclose) and from JS on process 'exit', whichever comes first,
 *   so no worker is alive when the process tears down. */
#define _GNU_SOURCE
#include "rg_common.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define RG_PAUSE() _mm_pause()
#elif defined(__aarch64__)
#define RG_PAUSE() __asm__ __volatile__("yield")
#else
#define RG_PAUSE() ((void)0)
#endif

#define RG_MAX_THREADS 256

typedef struct {
  rg_task_fn fn;
  void *ctx;
  int64_t n;
  int nthreads;
} rg_job;

static struct {
  pthread_t threads[RG_MAX_THREADS];
  int want;    /* threads per region, set by rg_pool_init (default 1 until then) */
  int started; /* workers running (0 or want-1) */
  _Atomic uint64_t generation;
  _Atomic uint64_t claim[RG_MAX_THREADS]; /* generation whose chunk t was claimed */
  _Atomic uint64_t done[RG_MAX_THREADS];  /* generation whose chunk t is finished */
  _Atomic int sleepers;
  _Atomic int stop;
  _Atomic int64_t spin_ns;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  pthread_mutex_t call_mu; /* one region at a time; others run serially */
  rg_job job;
} P = {
    .want = 1,
    .spin_ns = 2000000,
    .mu = PTHREAD_MUTEX_INITIALIZER,
    .cv = PTHREAD_COND_INITIALIZER,
    .call_mu = PTHREAD_MUTEX_INITIALIZER,
};

/* Set while a thread runs a chunk: a kernel that calls rg_parallel_for from inside one
 * runs its loop serially instead of deadlocking on the pool. */
static __thread int in_region;

static int64_t now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (int64_t)t.tv_sec * 1000000000LL + t.tv_nsec;
}

/* Static chunking: participant tid gets [n*tid/T, n*(tid+1)/T). */
static void run_chunk(const rg_job *j, int tid) {
  int64_t b = j->n * tid / j->nthreads, e = j->n * (tid + 1) / j->nthreads;
  if (b < e) j->fn(j->ctx, b, e, tid);
}

typedef struct {
  int tid;
  uint64_t gen0;
} worker_arg;

static void *worker(void *argp) {
  worker_arg a = *(worker_arg *)argp;
  free(argp);
  uint64_t seen = a.gen0;
  int late = 0; /* the caller ran our last chunk: we are not getting a core of our own */
  in_region = 1;
  for (;;) {
    uint64_t g;
    int64_t t0 = 0;
    unsigned spins = 0;
    while ((g = atomic_load_explicit(&P.generation, memory_order_acquire)) == seen) {
      if (atomic_load_explicit(&P.stop, memory_order_relaxed)) return NULL;
      RG_PAUSE();
      if (!late && (++spins & 255) != 0) continue;
      int64_t t = now_ns();
      if (t0 == 0) t0 = t;
      if (!late && t - t0 < atomic_load_explicit(&P.spin_ns, memory_order_relaxed)) continue;
      /* Sleep until the next job (see the handshake above). */
      pthread_mutex_lock(&P.mu);
      atomic_fetch_add(&P.sleepers, 1);
      while (atomic_load(&P.generation) == seen && !atomic_load(&P.stop)) pthread_cond_wait(&P.cv, &P.mu);
      atomic_fetch_sub(&P.sleepers, 1);
      pthread_mutex_unlock(&P.mu);
      t0 = 0;
    }
    if (atomic_load(&P.stop)) return NULL;
    seen = g;
    uint64_t expect = g - 1;
    late = !atomic_compare_exchange_strong(&P.claim[a.tid], &expect, g);
    if (!late) {
      run_chunk(&P.job, a.tid);
      atomic_store_explicit(&P.done[a.tid], g, memory_order_release);
    }
  }
}

/* Joins all workers; idempotent. Called with call_mu held or at teardown. */
static void stop_workers(void) {
  if (P.started == 0) return;
  pthread_mutex_lock(&P.mu);
  atomic_store(&P.stop, 1);
  pthread_cond_broadcast(&P.cv);
  pthread_mutex_unlock(&P.mu);
  for (int i = 0; i < P.started; i++) pthread_join(P.threads[i], NULL);
  P.started = 0;
  atomic_store(&P.stop, 0);
}

static void start_workers(void) {
  uint64_t gen0 = atomic_load(&P.generation);
  for (int t = 0; t < RG_MAX_THREADS; t++) {
    atomic_store(&P.claim[t], gen0);
    atomic_store(&P.done[t], gen0);
  }
  int n = 0;
  for (int i = 1; i < P.want; i++) {
    worker_arg *a = malloc(sizeof *a);
    if (!a) break;
    a->tid = i;
    a->gen0 = gen0;
    if (pthread_create(&P.threads[n], NULL, worker, a) != 0) {
      free(a);
      break;
    }
    n++;
  }
  P.started = n;
  /* If some threads could not be created, regions use the ones that were. */
  if (n + 1 < P.want) P.want = n + 1;
}

/* Sets the region size (threads including the caller) and the spin time before sleeping.
 * Workers start lazily on the first region. */
RG_EXPORT void rg_pool_init(int threads, int64_t spin_ns) {
  if (threads < 1) threads = 1;
  if (threads > RG_MAX_THREADS) threads = RG_MAX_THREADS;
  pthread_mutex_lock(&P.call_mu);
  if (threads != P.want) {
    stop_workers();
    P.want = threads;
  }
  if (spin_ns >= 0) atomic_store(&P.spin_ns, spin_ns);
  pthread_mutex_unlock(&P.call_mu);
}

RG_EXPORT int rg_pool_threads(void) { return P.want; }

/* Workers currently asleep (for tests of the spin-then-sleep policy). */
RG_EXPORT int rg_pool_sleepers(void) { return atomic_load(&P.sleepers); }

/* Workers currently running (0 before the first region and after shutdown). */
RG_EXPORT int rg_pool_started(void) { return P.started; }

RG_EXPORT void rg_pool_shutdown(void) {
  pthread_mutex_lock(&P.call_mu);
  stop_workers();
  pthread_mutex_unlock(&P.call_mu);
}

__attribute__((destructor)) static void rg_pool_fini(void) { rg_pool_shutdown(); }

RG_EXPORT void rg_parallel_for(int64_t n, rg_task_fn fn, void *ctx) {
  if (n <= 0) return;
  if (P.want <= 1 || n == 1 || in_region || pthread_mutex_trylock(&P.call_mu) != 0) {
    int outer = in_region;
    in_region = 1;
    fn(ctx, 0, n, 0);
    in_region = outer;
    return;
  }
  if (P.started == 0) start_workers();
  if (P.started == 0) { /* no worker could be created */
    pthread_mutex_unlock(&P.call_mu);
    in_region = 1;
    fn(ctx, 0, n, 0);
    in_region = 0;
    return;
  }
  const int T = P.started + 1;
  P.job = (rg_job){fn, ctx, n, T};
  const uint64_t g = atomic_fetch_add(&P.generation, 1) + 1; /* seq_cst: publishes the job */
  if (atomic_load(&P.sleepers) > 0) {
    pthread_mutex_lock(&P.mu);
    pthread_cond_broadcast(&P.cv);
    pthread_mutex_unlock(&P.mu);
  }
  in_region = 1;
  run_chunk(&P.job, 0);
  /* Chunks no worker has claimed yet are run here. */
  for (int t = 1; t < T; t++) {
    uint64_t expect = g - 1;
    if (atomic_compare_exchange_strong(&P.claim[t], &expect, g)) {
      run_chunk(&P.job, t);
      atomic_store_explicit(&P.done[t], g, memory_order_relaxed);
    }
  }
  in_region = 0;
  for (int t = 1; t < T; t++)
    for (unsigned spins = 0; atomic_load_explicit(&P.done[t], memory_order_acquire) != g; spins++) {
      RG_PAUSE();
      if ((spins & 0xffff) == 0xffff) sched_yield(); /* the worker may share our core: let it run */
    }
  pthread_mutex_unlock(&P.call_mu);
}

/* ---- memory ---- */

RG_EXPORT void *rg_alloc(size_t bytes) {
  void *p = NULL;
  if (posix_memalign(&p, RG_ALIGN, bytes ? (bytes + RG_ALIGN - 1) / RG_ALIGN * RG_ALIGN : RG_ALIGN) != 0) return NULL;
  return p;
}

RG_EXPORT void rg_free(void *p) { free(p); }

static __thread struct {
  void *p;
  size_t size;
} scratch[RG_SCRATCH_SLOTS];

RG_EXPORT void *rg_scratch(int slot, size_t bytes) {
  if (scratch[slot].size < bytes) {
    free(scratch[slot].p);
    size_t grow = bytes + bytes / 4; /* amortise growth across shapes */
    scratch[slot].p = rg_alloc(grow);
    scratch[slot].size = scratch[slot].p ? grow : 0;
  }
  return scratch[slot].p;
}

/* ---- for benchmarks and tests ---- */

RG_EXPORT void rg_noop(void) {}

static void noop_task(void *ctx, int64_t b, int64_t e, int tid) { (void)ctx; (void)b; (void)e; (void)tid; }

RG_EXPORT void rg_empty_region(int64_t n) { rg_parallel_for(n, noop_task, NULL); }

/* Sum of tid+1 over the participants that ran a non-empty chunk, and the chunk bounds
 * checked: tests that every index in [0, n) is visited exactly once. */
typedef struct {
  _Atomic int64_t visits;
  _Atomic int64_t index_sum;
  _Atomic int mask;
} probe_ctx;

static void probe_task(void *c, int64_t b, int64_t e, int tid) {
  probe_ctx *p = c;
  int64_t s = 0;
  for (int64_t i = b; i < e; i++) s += i;
  atomic_fetch_add(&p->visits, e - b);
  atomic_fetch_add(&p->index_sum, s);
  atomic_fetch_or(&p->mask, 1 << (tid < 30 ? tid : 30));
}

/* out[0] = iterations visited, out[1] = sum of indices, out[2] = bitmask of tids that ran. */
RG_EXPORT void rg_pool_probe(int64_t n, int64_t *out) {
  probe_ctx p = {0, 0, 0};
  rg_parallel_for(n, probe_task, &p);
  out[0] = p.visits;
  out[1] = p.index_sum;
  out[2] = p.mask;
}
