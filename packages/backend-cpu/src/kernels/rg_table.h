/* The table of runtime entry points that generated kernel objects call (see runtime.c).
 * Shared text: runtime.c includes it, and the generated C prelude embeds it verbatim
 * (render/prelude.ts), so both sides always agree on the layout. Only compiler-builtin
 * types here (generated code includes no system header); rg_task_fn and the fixed-width
 * integer types are declared by whichever side includes it. */
#ifndef RG_TABLE_H
#define RG_TABLE_H

typedef struct {
  int version;
  void (*parallel_for)(int64_t, rg_task_fn, void *);
  int (*threads)(void);
  void *(*scratch)(int, __SIZE_TYPE__);
  void (*conv2d_f32)(const int32_t *, const float *, const float *, float *, rg_task_fn, void *);
  void (*conv2d_input_grad_f32)(const int32_t *, const float *, const float *, float *, rg_task_fn, void *);
  void (*conv2d_weight_grad_f32)(const int32_t *, const float *, const float *, float *);
  void (*conv2d_f64)(const int32_t *, const double *, const double *, double *, rg_task_fn, void *);
  void (*conv2d_input_grad_f64)(const int32_t *, const double *, const double *, double *, rg_task_fn, void *);
  void (*conv2d_weight_grad_f64)(const int32_t *, const double *, const double *, double *);
  void (*sgemm)(int64_t, int64_t, int64_t, int64_t, const float *, int64_t, int64_t, int, const float *, int64_t, int64_t, int,
                float *, int64_t, int64_t, int);
  void (*dgemm)(int64_t, int64_t, int64_t, int64_t, const double *, int64_t, int64_t, int, const double *, int64_t, int64_t, int,
                double *, int64_t, int64_t, int);
} rg_runtime;

#endif
