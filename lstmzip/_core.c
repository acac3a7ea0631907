/* The compiled per-step core of lstmzip's ByteLSTM: forward step, BPTT and Adam, with exactly the
 * reference's arithmetic (lstmzip/model.py, which stays the oracle).
 *
 * Exactness rules, the same as numerics.py's:
 *  - float64 values that hold integers, every partial sum < 2**53: any summation order gives the
 *    same bits, so the matrix products may be blocked and vectorised freely;
 *  - rounding is rint() (round half to even under the default rounding mode), as torch.round;
 *  - Adam is float32 arithmetic, one IEEE operation at a time, in the reference's order, each
 *    Python scalar rounded to float32 first (torch computes float32 tensor x Python float in
 *    float32). The build passes -ffp-contract=off, so no operation is fused into an FMA.
 *
 * The buffers belong to the Python object (NumPy views of the reference model's storage), so the
 * state is the reference's state, read and written in place; this file owns only scratch space.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define ALPHABET 256
#define ONE 65536.0            /* 1.0 as an activation, 2**ACT_BITS */
#define GRAD_ONE 1048576.0     /* 1.0 as a gradient, 2**GRAD_BITS */
#define TO_ACT (1.0 / 65536.0) /* 2**-ACT_BITS (also 2**-WEIGHT_BITS) */
#define CELL_CLIP (8.0 * ONE)
#define WEIGHT_CLIP 4.0f
#define MATCH_SCALE 4.0
#define CONTEXT_TO_LOGIT 16.0 /* 2**(PRODUCT_BITS - WEIGHT_BITS - LOG_COUNT_BITS) */
#define SIG_ORIGIN 32768.5    /* table index of x = 0, plus the half that makes truncation round */
#define SIG_MAX_INDEX 65536.0
#define EXP_ORIGIN 0.5
#define EXP_MAX_INDEX 40960.0
#define GATE_SCALE (1.0 / 2097152.0) /* 2**(SIG_STEP_BITS - PRODUCT_BITS): pre-activation -> table step */
#define CELL_SCALE (1.0 / 16.0)      /* 2**(SIG_STEP_BITS - ACT_BITS + 1): tanh's argument -> table step */
#define EXP_SCALE (1.0 / 2097152.0)  /* 2**(EXP_STEP_BITS - PRODUCT_BITS) */

/* Hot loops get AVX2 / AVX-512 clones chosen at load time; integer-valued float64 sums are exact
 * in any order and -ffp-contract=off forbids FMA contraction, so every clone gives the same bits.
 * LSTMZIP_NO_CLONES builds the baseline code alone, which older CPUs run (tests/test_core.py builds it). */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(LSTMZIP_NO_CLONES)
#define HOT __attribute__((target_clones("avx512f", "avx2", "default")))
/* The matrix products' own kernels may also contract: each product and partial sum in them is an integer
 * below 2**53 (the bound noted at each call), so a fused multiply-add rounds nothing that a product and a
 * sum would not, and clones with FMA give the same bits as the rest at up to twice the rate. */
#define PRODUCT_KERNEL __attribute__((target_clones("avx512f", "fma", "default"), optimize("fp-contract=fast")))
#else
#define HOT
#define PRODUCT_KERNEL
#endif

/* The buffers Python hands over, in this order (lstmzip/core.py, BUFFER_NAMES). */
enum {
    BUF_MASTER,           /* f32 [P] */
    BUF_ADAM_V,           /* f32 [P] */
    BUF_ADAM_M,           /* f32 [P] or [0] without momentum */
    BUF_FORWARD,          /* f64 [P] forward weights */
    BUF_GRAD,             /* f64 [P - row tables] gradients of the dense part */
    BUF_HCAT,             /* f64 [T+1, B, L*H] */
    BUF_CELL,             /* f64 [L, T+1, B, H] */
    BUF_GATES,            /* f64 [L, T, B, 4H] */
    BUF_TANH_CELL,        /* f64 [L, T, B, H] */
    BUF_FREQ,             /* f64 [T, B, 256] */
    BUF_FREQ_SUM,         /* f64 [T, B] */
    BUF_X,                /* i64 [T, B] */
    BUF_MATCH_EXPECTED,   /* i64 [T, B] */
    BUF_MATCH_BUCKET,     /* i64 [T, B] */
    BUF_MATCH_INPUT,      /* i64 [T, B] */
    BUF_COLUMN,           /* i64 [T, B] */
    BUF_WORD,             /* i64 [T, B] */
    BUF_CONTEXT_FEATURES, /* f32 [T, B, K, 256] log counts (integers below 2**15) */
    BUF_CONTEXT_INDEX,    /* i64 [T, B, K] */
    BUF_WEIGHT_OFFSETS,   /* i64 [256, K] */
    BUF_SIGMOID,          /* i32 [65537] */
    BUF_EXP,              /* i32 [40961] */
    BUFFER_COUNT
};

/* The integers Python hands over, in this order (lstmzip/core.py, DIMENSION_NAMES). */
enum {
    DIM_B, DIM_T, DIM_H, DIM_L, DIM_K, DIM_E, DIM_COLUMN_ROWS, DIM_WORD_ROWS, DIM_BUCKETS, DIM_CONFIDENCE_BUCKETS, DIM_WEIGHT_SETS,
    DIM_ROW_TABLE_SIZE, DIM_TABLE_SIZE, DIM_SIZE,
    OFF_EMBED, OFF_OUT_EMBED, OFF_MATCH_EMBED, OFF_COLUMN_EMBED, OFF_WORD_EMBED, OFF_MATCH, OFF_REC, OFF_BELOW,
    OFF_OUT_W, OFF_WORD_PROJ, OFF_CONTEXT,
    DIMENSION_COUNT
};

/* A row table's gradient, summed by row over a segment, and which rows the segment touched. */
typedef struct {
    Py_ssize_t offset; /* of the table in the flat parameter buffers */
    Py_ssize_t rows, width, layers;
    Py_ssize_t fixed_row; /* a "none" row whose gradient stays 0 (it is still updated), or -1 */
    double forward_scale; /* forward weight = round(master * 2**16) * this */
    double *sums;         /* [layers, rows, width] */
    unsigned char *touched; /* [rows] */
} RowTable;

enum { ROW_EMBED, ROW_OUT_EMBED, ROW_MATCH_EMBED, ROW_COLUMN_EMBED, ROW_WORD_EMBED, ROW_TABLE_COUNT };

/* cblas_dgemm of an ILP64 BLAS (64-bit integer arguments), as NumPy's OpenBLAS exports it */
typedef void (*Dgemm)(int order, int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, double alpha,
                      const double *a, int64_t lda, const double *b, int64_t ldb, double beta, double *c, int64_t ldc);
enum { CBLAS_ROW_MAJOR = 101, CBLAS_NO_TRANS = 111, CBLAS_TRANS = 112 };

typedef struct {
    PyObject_HEAD
    Py_buffer buffers[BUFFER_COUNT];
    Dgemm dgemm; /* the BLAS's product where one was handed over, else the kernel here */
    int held; /* how many of ``buffers`` are held */
    Py_ssize_t dim[DIMENSION_COUNT];
    RowTable row_tables[ROW_TABLE_COUNT];
    /* scratch */
    double *pre_activation;  /* [B, 4H] */
    double *logits;          /* [B, 256] */
    double *word_vectors;    /* [T*B, E] */
    double *dlogits;         /* [T*B, 256] */
    double *dh;              /* [T*B, L*H] */
    double *delta;           /* [T*B, 4H] */
    double *multiplier;      /* [T*B, 4H] */
    double *out_to_cell;     /* [T*B, H] */
    double *dc, *dh_step;    /* [B, H] */
    double *product;         /* [T*B, max(H, E)] */
} Core;

#define F64(core, name) ((double *)(core)->buffers[name].buf)
#define F32(core, name) ((float *)(core)->buffers[name].buf)
#define I64(core, name) ((int64_t *)(core)->buffers[name].buf)
#define I32(core, name) ((int32_t *)(core)->buffers[name].buf)

/* ---------------------------------------------------------------- matrix products (exact) */

/* Four doubles, loaded and stored unaligned; the compiler maps them to one AVX register or two SSE ones. */
typedef double v4 __attribute__((vector_size(32), aligned(8)));

#define DEPTH 128 /* rows of B per pass: a 128 x 8 panel of B is 8 KiB */
#define ROWS 6 /* rows of C per register tile: 12 accumulators + 2 rows of B + a broadcast fit 16 AVX registers */

/* Rows [m, m + ROWS) x columns [n, n + 8) of C += A(rows, :) @ B[:, columns], summed in registers. */
static inline __attribute__((always_inline)) void gemm_tile(Py_ssize_t K, const double *a, Py_ssize_t a_row, Py_ssize_t a_col, const double *b,
                             Py_ssize_t ldb, double *c, Py_ssize_t ldc) {
    v4 c00 = {0}, c01 = {0}, c10 = {0}, c11 = {0}, c20 = {0}, c21 = {0};
    v4 c30 = {0}, c31 = {0}, c40 = {0}, c41 = {0}, c50 = {0}, c51 = {0};
    for (Py_ssize_t k = 0; k < K; k++, a += a_col, b += ldb) {
        v4 b0 = *(const v4 *)b, b1 = *(const v4 *)(b + 4);
        double a0 = a[0], a1 = a[a_row], a2 = a[2 * a_row];
        c00 += a0 * b0;
        c01 += a0 * b1;
        c10 += a1 * b0;
        c11 += a1 * b1;
        c20 += a2 * b0;
        c21 += a2 * b1;
        double a3 = a[3 * a_row], a4 = a[4 * a_row], a5 = a[5 * a_row];
        c30 += a3 * b0;
        c31 += a3 * b1;
        c40 += a4 * b0;
        c41 += a4 * b1;
        c50 += a5 * b0;
        c51 += a5 * b1;
    }
    v4 sums[ROWS][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}, {c40, c41}, {c50, c51}};
    for (int r = 0; r < ROWS; r++) {
        *(v4 *)(c + r * ldc) += sums[r][0];
        *(v4 *)(c + r * ldc + 4) += sums[r][1];
    }
}

/* Row c[0, wide) += sum_k a[k * a_col] * B[k, :wide], a row of A below the tiles (all of a step of one to five
 * streams): 32 columns at a time in eight accumulators, eight independent sums in flight where two waited each
 * on its last (a 4 KB text's steps: half the time; docs/notebook/2026-12-07-one-stream-kernels.md) */
static inline __attribute__((always_inline)) void gemm_row(Py_ssize_t K, Py_ssize_t wide, const double *a,
                                                           Py_ssize_t a_col, const double *B, Py_ssize_t ldb,
                                                           double *c) {
    Py_ssize_t n = 0;
    for (; n + 32 <= wide; n += 32) {
        v4 s0 = {0}, s1 = {0}, s2 = {0}, s3 = {0}, s4 = {0}, s5 = {0}, s6 = {0}, s7 = {0};
        const double *b = B + n;
        for (Py_ssize_t k = 0; k < K; k++, b += ldb) {
            double x = a[k * a_col];
            s0 += x * *(const v4 *)b;
            s1 += x * *(const v4 *)(b + 4);
            s2 += x * *(const v4 *)(b + 8);
            s3 += x * *(const v4 *)(b + 12);
            s4 += x * *(const v4 *)(b + 16);
            s5 += x * *(const v4 *)(b + 20);
            s6 += x * *(const v4 *)(b + 24);
            s7 += x * *(const v4 *)(b + 28);
        }
        v4 *out = (v4 *)(c + n);
        v4 sums[8] = {s0, s1, s2, s3, s4, s5, s6, s7};
        for (int j = 0; j < 8; j++) out[j] += sums[j];
    }
    for (; n < wide; n += 8) {
        v4 s0 = {0}, s1 = {0};
        const double *b = B + n;
        for (Py_ssize_t k = 0; k < K; k++, b += ldb) {
            double x = a[k * a_col];
            s0 += x * *(const v4 *)b;
            s1 += x * *(const v4 *)(b + 4);
        }
        v4 *out = (v4 *)(c + n);
        out[0] += s0;
        out[1] += s1;
    }
}

/* C[m, n] += sum_k A(m, k) * B[k, n] with A(m, k) = A[m * a_row + k * a_col]: one kernel serves A
 * and its transpose. */
PRODUCT_KERNEL static void gemm_acc(Py_ssize_t M, Py_ssize_t N, Py_ssize_t K, const double *A, Py_ssize_t a_row,
                         Py_ssize_t a_col, const double *restrict Bm, Py_ssize_t ldb, double *restrict C,
                         Py_ssize_t ldc) {
    Py_ssize_t wide = N - N % 8, tall = M - M % ROWS;
    /* columns outer: a panel of B (at most DEPTH x 64 bytes) stays in L1 while every row block passes */
    for (Py_ssize_t k0 = 0; k0 < K; k0 += DEPTH) {
        Py_ssize_t depth = K - k0 < DEPTH ? K - k0 : DEPTH;
        const double *a = A + k0 * a_col, *b = Bm + k0 * ldb;
        for (Py_ssize_t n = 0; n < wide; n += 8)
            for (Py_ssize_t m = 0; m < tall; m += ROWS)
                gemm_tile(depth, a + m * a_row, a_row, a_col, b + n, ldb, C + m * ldc + n, ldc);
    }
    for (Py_ssize_t m = tall; m < M; m++) gemm_row(K, wide, A + m * a_row, a_col, Bm, ldb, C + m * ldc);
    for (Py_ssize_t m = 0; m < M; m++)
        for (Py_ssize_t k = 0; k < K; k++) {
            double a = A[m * a_row + k * a_col];
            for (Py_ssize_t n = wide; n < N; n++) C[m * ldc + n] += a * Bm[k * ldb + n];
        }
}

/* Products of fewer rows go to the kernel here: the BLAS packs all of B for each call, which a step of one
 * or a few streams does not repay (a 20 KB text: 12 % less CPU; docs/notebook/2026-12-07-word-codes-by-input.md) */
#define BLAS_MIN_ROWS 16

/* C[m, n] += sum_k A(m, k) * B[k, n] as gemm_acc, by the BLAS where the core has one: the same
 * bits, since every product and partial sum is an integer below 2**53 (alpha = beta = 1 are exact). */
static void product_acc(const Core *c, Py_ssize_t M, Py_ssize_t N, Py_ssize_t K, const double *A, Py_ssize_t a_row,
                        Py_ssize_t a_col, const double *B, Py_ssize_t ldb, double *C, Py_ssize_t ldc) {
    if (!c->dgemm || M < BLAS_MIN_ROWS || !N || !K || (a_col != 1 && a_row != 1)) {
        gemm_acc(M, N, K, A, a_row, a_col, B, ldb, C, ldc);
        return;
    }
    int transposed = a_col != 1;
    c->dgemm(CBLAS_ROW_MAJOR, transposed ? CBLAS_TRANS : CBLAS_NO_TRANS, CBLAS_NO_TRANS, M, N, K, 1.0, A,
             transposed ? a_col : a_row, B, ldb, 1.0, C, ldc);
}

/* C = A^T @ B with A [K, M] (row stride lda), B [K, N]: a weight gradient, summed over K steps. */
static void matmul_tn(const Core *c, Py_ssize_t M, Py_ssize_t N, Py_ssize_t K, const double *A, Py_ssize_t lda,
                      const double *B, double *C) {
    memset(C, 0, (size_t)(M * N) * sizeof(double));
    product_acc(c, M, N, K, A, 1, lda, B, N, C, N);
}

static inline double sum4(v4 s) { return (s[0] + s[1]) + (s[2] + s[3]); }

/* C[m, n] += sum_k A[m * lda + k] * W[n * ldw + k]: a product with the transpose of W [N, K], read in place.
 * Rows of both are contiguous, so each entry is a dot product; four rows of W at a time pass every row of A
 * (a few streams' rows, which stay in cache) so that W is read once. */
PRODUCT_KERNEL static void gemm_nt_acc(Py_ssize_t M, Py_ssize_t N, Py_ssize_t K, const double *A, Py_ssize_t lda,
                            const double *W, Py_ssize_t ldw, double *C, Py_ssize_t ldc) {
    Py_ssize_t whole = K - K % 4, wide = N - N % 4;
    for (Py_ssize_t n = 0; n < wide; n += 4) {
        const double *w0 = W + n * ldw, *w1 = w0 + ldw, *w2 = w1 + ldw, *w3 = w2 + ldw;
        for (Py_ssize_t m = 0; m < M; m++) {
            const double *a = A + m * lda;
            v4 s0 = {0}, s1 = {0}, s2 = {0}, s3 = {0};
            for (Py_ssize_t k = 0; k < whole; k += 4) {
                v4 av = *(const v4 *)(a + k);
                s0 += av * *(const v4 *)(w0 + k);
                s1 += av * *(const v4 *)(w1 + k);
                s2 += av * *(const v4 *)(w2 + k);
                s3 += av * *(const v4 *)(w3 + k);
            }
            double t0 = sum4(s0), t1 = sum4(s1), t2 = sum4(s2), t3 = sum4(s3);
            for (Py_ssize_t k = whole; k < K; k++) {
                t0 += a[k] * w0[k];
                t1 += a[k] * w1[k];
                t2 += a[k] * w2[k];
                t3 += a[k] * w3[k];
            }
            double *c = C + m * ldc + n;
            c[0] += t0;
            c[1] += t1;
            c[2] += t2;
            c[3] += t3;
        }
    }
    for (Py_ssize_t n = wide; n < N; n++)
        for (Py_ssize_t m = 0; m < M; m++) {
            double t = 0.0;
            for (Py_ssize_t k = 0; k < K; k++) t += A[m * lda + k] * W[n * ldw + k];
            C[m * ldc + n] += t;
        }
}

/* C = A @ W^T with A [M, K] (row stride lda), W [N, K], C [M, N]: back-propagation through the matrix W,
 * by the BLAS from BLAS_MIN_ROWS rows as product_acc (the same bits: integers below 2**53). */
static void matmul_nt(const Core *c, Py_ssize_t M, Py_ssize_t N, Py_ssize_t K, const double *A, Py_ssize_t lda,
                      const double *W, double *C) {
    memset(C, 0, (size_t)(M * N) * sizeof(double));
    if (c->dgemm && M >= BLAS_MIN_ROWS && N && K)
        c->dgemm(CBLAS_ROW_MAJOR, CBLAS_NO_TRANS, CBLAS_TRANS, M, N, K, 1.0, A, lda, W, K, 1.0, C, N);
    else
        gemm_nt_acc(M, N, K, A, lda, W, K, C, N);
}

/* x = round(x * 2**-16) over n values */
HOT static void rescale(double *x, Py_ssize_t n) {
    for (Py_ssize_t i = 0; i < n; i++) x[i] = rint(x[i] * TO_ACT);
}

/* ---------------------------------------------------------------- tables (numerics.Tables) */

/* table[floor(clamp(origin + x * scale, 0, max_index))]; ``scale`` is a power of two, so one rounding. The
 * tables are int32 (numerics.core_tables), half of float64's cache: a step's gates look up scattered entries
 * (docs/notebook/2026-12-07-one-stream-kernels.md). */
static inline double lookup(const int32_t *table, double origin, double max_index, double x, double scale) {
    double position = origin + x * scale;
    if (position < 0.0) position = 0.0;
    if (position > max_index) position = max_index;
    return table[(int32_t)position];
}

/* ---------------------------------------------------------------- forward step */

static double *layer_weights(Core *c, Py_ssize_t offset) { return F64(c, BUF_FORWARD) + offset; }

/* a [B, 4H] += the rows ``index`` [B] of ``table`` [rows, 4H] */
static void add_rows(Core *c, double *a, const double *table, const int64_t *index) {
    Py_ssize_t B = c->dim[DIM_B], G = 4 * c->dim[DIM_H];
    for (Py_ssize_t b = 0; b < B; b++) {
        const double *row = table + index[b] * G;
        for (Py_ssize_t j = 0; j < G; j++) a[b * G + j] += row[j];
    }
}

/* Layer 0's extra inputs: the match model's byte, the column, the word vector projected to the gates. */
static void add_layer0_inputs(Core *c, Py_ssize_t t, double *a) {
    Py_ssize_t B = c->dim[DIM_B], G = 4 * c->dim[DIM_H], E = c->dim[DIM_E];
    add_rows(c, a, layer_weights(c, c->dim[OFF_MATCH_EMBED]), I64(c, BUF_MATCH_INPUT) + t * B);
    if (c->dim[DIM_COLUMN_ROWS]) add_rows(c, a, layer_weights(c, c->dim[OFF_COLUMN_EMBED]), I64(c, BUF_COLUMN) + t * B);
    if (E) {
        const int64_t *word = I64(c, BUF_WORD) + t * B;
        const double *vectors = layer_weights(c, c->dim[OFF_WORD_EMBED]);
        for (Py_ssize_t b = 0; b < B; b++) memcpy(c->word_vectors + b * E, vectors + word[b] * E, E * sizeof(double));
        product_acc(c, B, G, E, c->word_vectors, E, 1, layer_weights(c, c->dim[OFF_WORD_PROJ]), G, a, G);  /* < 2**42 */
    }
}

/* The gates, cell and hidden state of one layer at step t from its pre-activation ``a``. */
HOT static void cell_update(Core *c, Py_ssize_t l, Py_ssize_t t, const double *a) {
    Py_ssize_t B = c->dim[DIM_B], T = c->dim[DIM_T], H = c->dim[DIM_H], L = c->dim[DIM_L], G = 4 * H;
    const int32_t *sigmoid = I32(c, BUF_SIGMOID);
    double *gates = F64(c, BUF_GATES) + (l * T + t) * B * G;
    double *c_prev = F64(c, BUF_CELL) + (l * (T + 1) + t) * B * H, *c_new = c_prev + B * H;
    double *tanh_c = F64(c, BUF_TANH_CELL) + (l * T + t) * B * H;
    double *h_new = F64(c, BUF_HCAT) + (t + 1) * B * L * H + l * H;
    for (Py_ssize_t n = 0; n < B * G; n++) gates[n] = lookup(sigmoid, SIG_ORIGIN, SIG_MAX_INDEX, a[n], GATE_SCALE);
    for (Py_ssize_t b = 0; b < B; b++) {
        const double *i = gates + b * G, *f = i + H, *g = f + H, *o = g + H;
        for (Py_ssize_t h = 0; h < H; h++) {
            /* c = f * c_prev + i * (2g - 1) at 2**32, every term exact (< 2**36) */
            double cell = f[h] * c_prev[b * H + h] + i[h] * g[h] * 2.0 - i[h] * ONE;
            cell = rint(cell * TO_ACT);
            cell = cell < -CELL_CLIP ? -CELL_CLIP : (cell > CELL_CLIP ? CELL_CLIP : cell);
            c_new[b * H + h] = cell;
            /* tanh(x) = 2 sigmoid(2x) - 1: the sigmoid table's entry at tanh's index (numerics.lookup_tables) */
            double squashed = 2.0 * lookup(sigmoid, SIG_ORIGIN, SIG_MAX_INDEX, cell, CELL_SCALE) - ONE;
            tanh_c[b * H + h] = squashed;
            h_new[b * L * H + h] = rint(o[h] * squashed * TO_ACT);
        }
    }
}

static void layer_step(Core *c, Py_ssize_t l, Py_ssize_t t) {
    Py_ssize_t B = c->dim[DIM_B], H = c->dim[DIM_H], L = c->dim[DIM_L], G = 4 * H, LH = L * H;
    const int64_t *x = I64(c, BUF_X) + t * B;
    const double *hcat = F64(c, BUF_HCAT);
    double *a = c->pre_activation;
    const double *embed = layer_weights(c, c->dim[OFF_EMBED] + l * ALPHABET * G);
    for (Py_ssize_t b = 0; b < B; b++) memcpy(a + b * G, embed + x[b] * G, G * sizeof(double));
    product_acc(c, B, G, H, hcat + t * B * LH + l * H, LH, 1, layer_weights(c, c->dim[OFF_REC] + l * H * G), G, a, G);
    if (l == 0)
        add_layer0_inputs(c, t, a);
    else
        product_acc(c, B, G, H, hcat + (t + 1) * B * LH + (l - 1) * H, LH, 1,
                 layer_weights(c, c->dim[OFF_BELOW] + (l - 1) * H * G), G, a, G);
    cell_update(c, l, t, a);
}

/* logits [B, 256] += each stream's context-count mixture: sum over orders of weight x log counts */
static void add_context_mixture(Core *c, Py_ssize_t t, double *logits) {
    Py_ssize_t B = c->dim[DIM_B], K = c->dim[DIM_K];
    const int64_t *index = I64(c, BUF_CONTEXT_INDEX) + t * B * K;
    const float *features = F32(c, BUF_CONTEXT_FEATURES) + t * B * K * ALPHABET;
    const double *weights = layer_weights(c, c->dim[OFF_CONTEXT]);
    for (Py_ssize_t b = 0; b < B; b++)
        for (Py_ssize_t k = 0; k < K; k++) {
            double weight = weights[index[b * K + k]] * CONTEXT_TO_LOGIT;
            const float *f = features + (b * K + k) * ALPHABET;
            for (Py_ssize_t j = 0; j < ALPHABET; j++) logits[b * ALPHABET + j] += weight * (double)f[j];
        }
}

/* freq [B, 256] = exp table at (max logit - logit), freq_sum [B] their sums */
HOT static void softmax_weights(Core *c, Py_ssize_t t, const double *logits) {
    Py_ssize_t B = c->dim[DIM_B];
    const int32_t *exp_table = I32(c, BUF_EXP);
    double *freq = F64(c, BUF_FREQ) + t * B * ALPHABET, *freq_sum = F64(c, BUF_FREQ_SUM) + t * B;
    for (Py_ssize_t b = 0; b < B; b++) {
        const double *row = logits + b * ALPHABET;
        double top = row[0], sum = 0.0;
        for (Py_ssize_t j = 1; j < ALPHABET; j++) top = row[j] > top ? row[j] : top;
        for (Py_ssize_t j = 0; j < ALPHABET; j++) {
            double value = lookup(exp_table, EXP_ORIGIN, EXP_MAX_INDEX, top - row[j], EXP_SCALE);
            freq[b * ALPHABET + j] = value;
            sum += value;
        }
        freq_sum[b] = sum;
    }
}

static void output_step(Core *c, Py_ssize_t t, int with_context) {
    Py_ssize_t B = c->dim[DIM_B], LH = c->dim[DIM_L] * c->dim[DIM_H];
    const int64_t *x = I64(c, BUF_X) + t * B;
    const int64_t *expected = I64(c, BUF_MATCH_EXPECTED) + t * B, *bucket = I64(c, BUF_MATCH_BUCKET) + t * B;
    const double *out_embed = layer_weights(c, c->dim[OFF_OUT_EMBED]), *match = layer_weights(c, c->dim[OFF_MATCH]);
    double *logits = c->logits;
    for (Py_ssize_t b = 0; b < B; b++) memcpy(logits + b * ALPHABET, out_embed + x[b] * ALPHABET, sizeof(double) * ALPHABET);
    product_acc(c, B, ALPHABET, LH, F64(c, BUF_HCAT) + (t + 1) * B * LH, LH, 1, layer_weights(c, c->dim[OFF_OUT_W]), ALPHABET,
             logits, ALPHABET); /* < 2**48 */
    if (with_context) add_context_mixture(c, t, logits);
    for (Py_ssize_t b = 0; b < B; b++) logits[b * ALPHABET + expected[b]] += match[bucket[b]] * MATCH_SCALE;
    softmax_weights(c, t, logits);
}

/* ---------------------------------------------------------------- buffers from Python */

/* ``view`` = the buffer of ``obj``: C-contiguous, ``count`` items of ``itemsize`` bytes of one of ``formats``. */
static int get_buffer(PyObject *obj, Py_buffer *view, Py_ssize_t count, Py_ssize_t itemsize, const char *formats,
                      const char *what, int writable) {
    if (PyObject_GetBuffer(obj, view, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (writable ? PyBUF_WRITABLE : 0)) < 0)
        return -1;
    const char *format = view->format ? view->format : "B";
    if (*format == '<' || *format == '=' || *format == '@') format++;
    if (view->itemsize != itemsize || strlen(format) != 1 || !strchr(formats, *format) ||
        view->len != count * itemsize) {
        PyErr_Format(PyExc_ValueError, "core: %s must be %zd items of format %s", what, count, formats);
        PyBuffer_Release(view);
        return -1;
    }
    return 0;
}

#define INT64_FORMATS "lq"
#define FLOAT64_FORMATS "d"
#define FLOAT32_FORMATS "f"
#define INT32_FORMATS "i"
#define INT16_FORMATS "h"

/* Copy ``obj`` ([count] items of ``itemsize`` bytes) into ``dst``, unless it is None; returns 1 if copied, -1
 * on error. */
static int copy_input(PyObject *obj, void *dst, Py_ssize_t count, Py_ssize_t itemsize, const char *formats,
                      const char *what) {
    if (obj == Py_None) return 0;
    Py_buffer view;
    if (get_buffer(obj, &view, count, itemsize, formats, what, 0) < 0) return -1;
    memcpy(dst, view.buf, (size_t)(count * itemsize));
    PyBuffer_Release(&view);
    return 1;
}

/* ---------------------------------------------------------------- predict */

/* The forward step at t from the inputs in the buffers at t (the byte before, the match model's byte and
 * bucket where ``with_match``, the context features and buckets where ``with_context``, the column and
 * word), each checked before it indexes a table; -1 with an exception set if one is out of range. */
static int core_forward(Core *c, Py_ssize_t t, int with_match, int with_context) {
    Py_ssize_t B = c->dim[DIM_B], K = c->dim[DIM_K], L = c->dim[DIM_L];
    int64_t *match_input = I64(c, BUF_MATCH_INPUT) + t * B, *match_bucket = I64(c, BUF_MATCH_BUCKET) + t * B;
    const int64_t *bytes = I64(c, BUF_X) + t * B;
    /* every index below reads a table row: a bad one would read outside memory */
    for (Py_ssize_t b = 0; b < B; b++)
        if (bytes[b] < 0 || bytes[b] >= ALPHABET || match_bucket[b] < 0 || match_bucket[b] > c->dim[DIM_BUCKETS] ||
            I64(c, BUF_MATCH_EXPECTED)[t * B + b] < 0 || I64(c, BUF_MATCH_EXPECTED)[t * B + b] >= ALPHABET ||
            I64(c, BUF_COLUMN)[t * B + b] < 0 ||
            (c->dim[DIM_COLUMN_ROWS] && I64(c, BUF_COLUMN)[t * B + b] >= c->dim[DIM_COLUMN_ROWS]) ||
            I64(c, BUF_WORD)[t * B + b] < 0 || I64(c, BUF_WORD)[t * B + b] > c->dim[DIM_WORD_ROWS]) {
            PyErr_Format(PyExc_ValueError, "core: an input of stream %zd is out of range", b);
            return -1;
        }
    if (with_match)
        for (Py_ssize_t b = 0; b < B; b++)
            match_input[b] = match_bucket[b] == c->dim[DIM_BUCKETS] ? ALPHABET : I64(c, BUF_MATCH_EXPECTED)[t * B + b];
    if (with_context) {
        int64_t *index = I64(c, BUF_CONTEXT_INDEX) + t * B * K;
        const int64_t *offsets = I64(c, BUF_WEIGHT_OFFSETS);
        for (Py_ssize_t b = 0; b < B; b++)
            for (Py_ssize_t k = 0; k < K; k++) {
                int64_t bucket_k = index[b * K + k];
                if (bucket_k < 0 || bucket_k >= c->dim[DIM_CONFIDENCE_BUCKETS]) {
                    PyErr_SetString(PyExc_ValueError, "core: confidence bucket out of range");
                    return -1;
                }
                index[b * K + k] = bucket_k + offsets[bytes[b] * K + k];
            }
    }
    for (Py_ssize_t l = 0; l < L; l++) layer_step(c, l, t);
    output_step(c, t, with_context && K);
    return 0;
}

static PyObject *Core_predict(Core *c, PyObject *args) {
    Py_ssize_t t;
    PyObject *x, *expected, *bucket, *features, *confidence, *column, *word;
    if (!PyArg_ParseTuple(args, "nOOOOOOO", &t, &x, &expected, &bucket, &features, &confidence, &column, &word))
        return NULL;
    Py_ssize_t B = c->dim[DIM_B], K = c->dim[DIM_K];
    if (t < 0 || t >= c->dim[DIM_T]) return PyErr_Format(PyExc_IndexError, "core: step %zd out of the segment", t);
    int64_t *match_bucket = I64(c, BUF_MATCH_BUCKET) + t * B;
    int with_match, with_context;
    if (copy_input(x, I64(c, BUF_X) + t * B, B, 8, INT64_FORMATS, "x") < 0 ||
        (with_match = copy_input(expected, I64(c, BUF_MATCH_EXPECTED) + t * B, B, 8, INT64_FORMATS, "expected")) < 0 ||
        copy_input(bucket, match_bucket, with_match ? B : 0, 8, INT64_FORMATS, "bucket") < 0 ||
        (with_context = copy_input(features, F32(c, BUF_CONTEXT_FEATURES) + t * B * K * ALPHABET, B * K * ALPHABET, 4,
                                   FLOAT32_FORMATS, "context features")) < 0 ||
        copy_input(confidence, I64(c, BUF_CONTEXT_INDEX) + t * B * K, with_context ? B * K : 0, 8, INT64_FORMATS,
                   "confidence") < 0 ||
        copy_input(column, I64(c, BUF_COLUMN) + t * B, B, 8, INT64_FORMATS, "column") < 0 ||
        copy_input(word, I64(c, BUF_WORD) + t * B, B, 8, INT64_FORMATS, "word") < 0)
        return NULL;
    if (core_forward(c, t, with_match, with_context) < 0) return NULL;
    Py_RETURN_NONE;
}

/* ---------------------------------------------------------------- learn: output layer */

/* The row ``row`` of a row table's gradient sums, marked touched. */
static double *row_sums(RowTable *table, Py_ssize_t layer, Py_ssize_t row) {
    table->touched[row] = 1;
    return table->sums + (layer * table->rows + row) * table->width;
}

static void add_to_row(RowTable *table, Py_ssize_t layer, Py_ssize_t row, const double *values) {
    double *sums = row_sums(table, layer, row);
    for (Py_ssize_t j = 0; j < table->width; j++) sums[j] += values[j];
}

/* dlogits [TB, 256] = p - onehot(target) at 2**20, masked by ``weight`` (or NULL) */
HOT static void output_gradient(Core *c, Py_ssize_t TB, const int64_t *targets, const double *weight) {
    const double *freq = F64(c, BUF_FREQ), *freq_sum = F64(c, BUF_FREQ_SUM);
    double *d = c->dlogits;
    for (Py_ssize_t n = 0; n < TB; n++) {
        double sum = freq_sum[n];
        for (Py_ssize_t j = 0; j < ALPHABET; j++) d[n * ALPHABET + j] = rint(freq[n * ALPHABET + j] / sum * GRAD_ONE);
        d[n * ALPHABET + targets[n]] += -GRAD_ONE;
        if (weight)
            for (Py_ssize_t j = 0; j < ALPHABET; j++) d[n * ALPHABET + j] *= weight[n];
    }
}

static double *dense_grad(Core *c, Py_ssize_t offset) { return F64(c, BUF_GRAD) + offset - c->dim[DIM_ROW_TABLE_SIZE]; }

static void learn_output(Core *c, Py_ssize_t T) {
    Py_ssize_t B = c->dim[DIM_B], LH = c->dim[DIM_L] * c->dim[DIM_H], K = c->dim[DIM_K], TB = T * B;
    const double *d = c->dlogits;
    const int64_t *x = I64(c, BUF_X);
    matmul_tn(c, LH, ALPHABET, TB, F64(c, BUF_HCAT) + B * LH, LH, d, dense_grad(c, c->dim[OFF_OUT_W])); /* < 2**48 */
    for (Py_ssize_t n = 0; n < TB; n++) add_to_row(&c->row_tables[ROW_OUT_EMBED], 0, x[n], d + n * ALPHABET);
    matmul_nt(c, TB, LH, ALPHABET, d, ALPHABET, layer_weights(c, c->dim[OFF_OUT_W]), c->dh); /* < 2**46 */
    rescale(c->dh, TB * LH);
    const int64_t *expected = I64(c, BUF_MATCH_EXPECTED), *bucket = I64(c, BUF_MATCH_BUCKET);
    double *match = dense_grad(c, c->dim[OFF_MATCH]);
    memset(match, 0, sizeof(double) * (c->dim[DIM_BUCKETS] + 1));
    for (Py_ssize_t n = 0; n < TB; n++) match[bucket[n]] += d[n * ALPHABET + expected[n]] * MATCH_SCALE;
    match[c->dim[DIM_BUCKETS]] = 0.0; /* "no match" has no boost to learn */
    if (!K) return;
    /* d weight = sum over bytes of dlogit * log count */
    Py_ssize_t weights = K * c->dim[DIM_WEIGHT_SETS];
    double *context = dense_grad(c, c->dim[OFF_CONTEXT]);
    const float *features = F32(c, BUF_CONTEXT_FEATURES);
    const int64_t *index = I64(c, BUF_CONTEXT_INDEX);
    memset(context, 0, sizeof(double) * weights);
    for (Py_ssize_t n = 0; n < TB; n++)
        for (Py_ssize_t k = 0; k < K; k++) {
            const float *f = features + (n * K + k) * ALPHABET;
            double sum = 0.0;
            for (Py_ssize_t j = 0; j < ALPHABET; j++) sum += (double)f[j] * d[n * ALPHABET + j];
            context[index[n * K + k]] += sum;
        }
    for (Py_ssize_t w = 0; w < weights; w++) context[w] *= CONTEXT_TO_LOGIT;
}

/* ---------------------------------------------------------------- learn: back-propagation */

/* Per step and cell, the multipliers that turn state gradients into gate gradients (pre-scaled by
 * 2**-16 so that one multiply and one round give the rescaled product), as the reference: the
 * sigmoid slopes s(1 - s) rounded to 2**16, then each product rounded to 2**16. */
HOT static void gate_multipliers(Core *c, Py_ssize_t l, Py_ssize_t TB) {
    Py_ssize_t H = c->dim[DIM_H], G = 4 * H, B = c->dim[DIM_B];
    const double *gates = F64(c, BUF_GATES) + l * c->dim[DIM_T] * B * G;
    const double *tanh_c = F64(c, BUF_TANH_CELL) + l * c->dim[DIM_T] * B * H;
    const double *c_prev = F64(c, BUF_CELL) + l * (c->dim[DIM_T] + 1) * B * H;
    for (Py_ssize_t n = 0; n < TB; n++) {
        const double *i = gates + n * G, *f = i + H, *g = f + H, *o = g + H;
        double *mult = c->multiplier + n * G;
        for (Py_ssize_t h = 0; h < H; h++) {
            double tc = tanh_c[n * H + h];
            double s_i = rint((ONE - i[h]) * i[h] * TO_ACT), s_f = rint((ONE - f[h]) * f[h] * TO_ACT);
            double s_g = rint((ONE - g[h]) * g[h] * TO_ACT), s_o = rint((ONE - o[h]) * o[h] * TO_ACT);
            mult[h] = rint((g[h] * 2.0 - ONE) * s_i * TO_ACT) * TO_ACT;
            mult[H + h] = rint(c_prev[n * H + h] * s_f * TO_ACT) * TO_ACT;
            mult[2 * H + h] = rint(i[h] * s_g * 2.0 * TO_ACT) * TO_ACT;
            mult[3 * H + h] = rint(tc * s_o * TO_ACT) * TO_ACT;
            double square = rint(tc * tc * TO_ACT);
            c->out_to_cell[n * H + h] = rint((square - ONE) * o[h] * -1.0 * TO_ACT) * TO_ACT; /* o (1 - tanh^2) */
        }
    }
}

static double clip_gradient(double value) { return value < -GRAD_ONE ? -GRAD_ONE : (value > GRAD_ONE ? GRAD_ONE : value); }

/* delta [TB, 4H]: layer l's gate gradients, back through the segment's steps */
HOT static void backward_through_time(Core *c, Py_ssize_t l, Py_ssize_t T) {
    Py_ssize_t B = c->dim[DIM_B], H = c->dim[DIM_H], G = 4 * H, LH = c->dim[DIM_L] * H;
    const double *gates = F64(c, BUF_GATES) + l * c->dim[DIM_T] * B * G;
    double *dc = c->dc, *dh_t = c->dh_step;
    memset(dc, 0, sizeof(double) * B * H);
    memset(dh_t, 0, sizeof(double) * B * H);
    for (Py_ssize_t t = T - 1; t >= 0; t--) {
        for (Py_ssize_t b = 0; b < B; b++) {
            Py_ssize_t n = t * B + b;
            const double *dh = c->dh + n * LH + l * H, *mult = c->multiplier + n * G, *otc = c->out_to_cell + n * H;
            double *delta = c->delta + n * G, *dcb = dc + b * H, *dhb = dh_t + b * H;
            for (Py_ssize_t h = 0; h < H; h++) {
                double dhh = clip_gradient(dhb[h] + dh[h]);
                dhb[h] = dhh;
                double dch = clip_gradient(dcb[h] + rint(dhh * otc[h]));
                dcb[h] = dch;
                delta[h] = rint(dch * mult[h]);
                delta[H + h] = rint(dch * mult[H + h]);
                delta[2 * H + h] = rint(dch * mult[2 * H + h]);
                delta[3 * H + h] = rint(dhh * mult[3 * H + h]);
            }
        }
        if (!t) break;
        /* what flows on to step t - 1 */
        const double *forget = gates + t * B * G + H;
        for (Py_ssize_t b = 0; b < B; b++)
            for (Py_ssize_t h = 0; h < H; h++) dc[b * H + h] = rint(dc[b * H + h] * (forget[b * G + h] * TO_ACT));
        matmul_nt(c, B, H, G, c->delta + t * B * G, G, layer_weights(c, c->dim[OFF_REC] + l * H * G), dh_t); /* < 2**53 for H <= 512 */
        rescale(dh_t, B * H);
    }
}

/* The gradients of layer l's weights, and of what feeds it, from its gate gradients ``delta``. */
static void layer_gradients(Core *c, Py_ssize_t l, Py_ssize_t T) {
    Py_ssize_t B = c->dim[DIM_B], H = c->dim[DIM_H], G = 4 * H, L = c->dim[DIM_L], LH = L * H, TB = T * B;
    Py_ssize_t E = c->dim[DIM_E];
    const double *hcat = F64(c, BUF_HCAT), *delta = c->delta;
    matmul_tn(c, H, G, TB, hcat + l * H, LH, delta, dense_grad(c, c->dim[OFF_REC] + l * H * G)); /* < 2**49 */
    const int64_t *x = I64(c, BUF_X);
    for (Py_ssize_t n = 0; n < TB; n++) add_to_row(&c->row_tables[ROW_EMBED], l, x[n], delta + n * G);
    if (l > 0) {
        matmul_tn(c, H, G, TB, hcat + B * LH + (l - 1) * H, LH, delta, dense_grad(c, c->dim[OFF_BELOW] + (l - 1) * H * G));
        matmul_nt(c, TB, H, G, delta, G, layer_weights(c, c->dim[OFF_BELOW] + (l - 1) * H * G), c->product); /* < 2**47 */
        rescale(c->product, TB * H);
        for (Py_ssize_t n = 0; n < TB; n++)
            for (Py_ssize_t h = 0; h < H; h++) c->dh[n * LH + (l - 1) * H + h] += c->product[n * H + h];
        return;
    }
    const int64_t *match_input = I64(c, BUF_MATCH_INPUT), *column = I64(c, BUF_COLUMN), *word = I64(c, BUF_WORD);
    for (Py_ssize_t n = 0; n < TB; n++) add_to_row(&c->row_tables[ROW_MATCH_EMBED], 0, match_input[n], delta + n * G);
    if (c->dim[DIM_COLUMN_ROWS])
        for (Py_ssize_t n = 0; n < TB; n++) add_to_row(&c->row_tables[ROW_COLUMN_EMBED], 0, column[n], delta + n * G);
    if (!E) return;
    const double *vectors = layer_weights(c, c->dim[OFF_WORD_EMBED]);
    for (Py_ssize_t n = 0; n < TB; n++) memcpy(c->word_vectors + n * E, vectors + word[n] * E, E * sizeof(double));
    matmul_tn(c, E, G, TB, c->word_vectors, E, delta, dense_grad(c, c->dim[OFF_WORD_PROJ])); /* < 2**51 */
    matmul_nt(c, TB, E, G, delta, G, layer_weights(c, c->dim[OFF_WORD_PROJ]), c->product); /* < 2**50 */
    rescale(c->product, TB * E);
    for (Py_ssize_t n = 0; n < TB; n++) add_to_row(&c->row_tables[ROW_WORD_EMBED], 0, word[n], c->product + n * E);
}

/* ---------------------------------------------------------------- Adam */

/* float32 settings of one update, each Python float rounded to float32 as torch does */
typedef struct {
    float beta1, one_minus_beta1, beta2, one_minus_beta2, bias_correction, eps;
    int momentum;
} AdamSettings;

/* One weight's Adam step from its ``numerator`` (the gradient, or its momentum) and its squared moment v:
 * the reference's operations one by one, in its order; the new master weight. */
static inline __attribute__((always_inline)) float adam_weight(const AdamSettings *s, float gradient, float numerator,
                                                              float *v, float master, float rate) {
    float square = gradient * gradient;
    square = square * s->one_minus_beta2;
    *v = *v * s->beta2;
    *v = *v + square;
    float denominator = *v / s->bias_correction;
    denominator = __builtin_sqrtf(denominator);
    denominator = denominator + s->eps;
    float step = numerator / denominator;
    step = step * rate;
    float weight = master - step;
    return weight < -WEIGHT_CLIP ? -WEIGHT_CLIP : (weight > WEIGHT_CLIP ? WEIGHT_CLIP : weight);
}

/* Adam on n values from ``start`` of the flat buffers; grad (float64, at 2**grad_bits as ``grad_scale``
 * = 2**-grad_bits) -> master, moments, and forward = round(master * 2**16) * forward_scale. One loop
 * with momentum and one without, each free of branches so that the compiler vectorizes it (every
 * operation is IEEE, so a vector lane gives a scalar's bits). */
HOT static void adam_update(Core *c, const AdamSettings *s, Py_ssize_t start, Py_ssize_t n, const double *restrict grad,
                            double grad_scale, float rate, double forward_scale) {
    float *restrict master = F32(c, BUF_MASTER) + start, *restrict v = F32(c, BUF_ADAM_V) + start;
    double *restrict forward = F64(c, BUF_FORWARD) + start;
    if (s->momentum) {
        float *restrict m = F32(c, BUF_ADAM_M) + start;
        for (Py_ssize_t k = 0; k < n; k++) {
            float gradient = (float)(grad[k] * grad_scale);
            float share = gradient * s->one_minus_beta1;
            m[k] = m[k] * s->beta1;
            m[k] = m[k] + share;
            master[k] = adam_weight(s, gradient, m[k], v + k, master[k], rate);
            forward[k] = rint((double)(master[k] * 65536.0f)) * forward_scale;
        }
        return;
    }
    for (Py_ssize_t k = 0; k < n; k++) {
        float gradient = (float)(grad[k] * grad_scale);
        master[k] = adam_weight(s, gradient, gradient, v + k, master[k], rate);
        forward[k] = rint((double)(master[k] * 65536.0f)) * forward_scale;
    }
}

/* Lazy Adam on the rows of ``table`` that the segment touched; their sums are cleared for the next. */
static void adam_rows(Core *c, const AdamSettings *s, RowTable *table, float rate) {
    Py_ssize_t width = table->width;
    for (Py_ssize_t row = 0; row < table->rows; row++) {
        if (!table->touched[row]) continue;
        table->touched[row] = 0;
        for (Py_ssize_t layer = 0; layer < table->layers; layer++) {
            double *sums = table->sums + (layer * table->rows + row) * width;
            if (row == table->fixed_row) memset(sums, 0, sizeof(double) * width);
            Py_ssize_t start = table->offset + (layer * table->rows + row) * width;
            adam_update(c, s, start, width, sums, 1.0 / GRAD_ONE, rate, table->forward_scale);
            memset(sums, 0, sizeof(double) * width);
        }
    }
}

/* use_blas(address): the matrix products through the cblas_dgemm at ``address`` (ILP64), or 0 for the kernel here */
static PyObject *Core_use_blas(Core *c, PyObject *arg) {
    void *address = PyLong_AsVoidPtr(arg);
    if (!address && PyErr_Occurred()) return NULL;
    c->dgemm = (Dgemm)address;
    Py_RETURN_NONE;
}

/* One Adam step: the dense part by groups of (start, stop, rate), then the touched rows of each table. */
static int adam_step(Core *c, const AdamSettings *s, PyObject *dense_groups, float embed_rate, float table_rate) {
    Py_ssize_t dense = c->dim[DIM_ROW_TABLE_SIZE], tables = c->dim[DIM_TABLE_SIZE];
    double *grad = F64(c, BUF_GRAD), *forward = F64(c, BUF_FORWARD);
    for (Py_ssize_t k = 0; k < tables - dense; k++) grad[k] *= ONE; /* the small tables join the matrices' scale */
    Py_ssize_t groups = PyTuple_GET_SIZE(dense_groups);
    for (Py_ssize_t k = 0; k < groups; k++) {
        Py_ssize_t start, stop;
        double rate;
        if (!PyArg_ParseTuple(PyTuple_GET_ITEM(dense_groups, k), "nnd", &start, &stop, &rate)) return -1;
        if (start < 0 || stop < start || dense + stop > c->dim[DIM_SIZE]) {
            PyErr_SetString(PyExc_ValueError, "core: a rate group is outside the buffer");
            return -1;
        }
        adam_update(c, s, dense + start, stop - start, grad + start, 1.0 / (GRAD_ONE * ONE), (float)rate, 1.0);
    }
    for (Py_ssize_t k = dense; k < tables; k++) forward[k] *= ONE;
    for (int k = 0; k < ROW_TABLE_COUNT; k++)
        if (c->row_tables[k].rows) adam_rows(c, s, &c->row_tables[k], k == ROW_EMBED ? embed_rate : table_rate);
    return 0;
}

/* learn(T, targets [T, B], weight [T, B] or None, (beta1, 1 - beta1, beta2, 1 - beta2, bias correction,
 * eps), ((start, stop, rate), ...) of the dense part, rate of the byte input tables, rate of the others) */
static PyObject *Core_learn(Core *c, PyObject *args) {
    Py_ssize_t T;
    PyObject *targets_obj, *weight_obj, *dense_groups;
    double beta1, one_minus_beta1, beta2, one_minus_beta2, bias_correction, eps, embed_rate, table_rate;
    if (!PyArg_ParseTuple(args, "nOO(dddddd)O!dd", &T, &targets_obj, &weight_obj, &beta1, &one_minus_beta1, &beta2,
                          &one_minus_beta2, &bias_correction, &eps, &PyTuple_Type, &dense_groups, &embed_rate,
                          &table_rate))
        return NULL;
    Py_ssize_t B = c->dim[DIM_B], L = c->dim[DIM_L], H = c->dim[DIM_H], LH = L * H, TB = T * B;
    if (T < 1 || T > c->dim[DIM_T]) return PyErr_Format(PyExc_ValueError, "core: %zd steps to learn", T);
    Py_buffer targets, weight;
    if (get_buffer(targets_obj, &targets, TB, 8, INT64_FORMATS, "targets", 0) < 0) return NULL;
    const int64_t *target = targets.buf;
    for (Py_ssize_t n = 0; n < TB; n++)
        if (target[n] < 0 || target[n] >= ALPHABET) {
            PyBuffer_Release(&targets);
            return PyErr_Format(PyExc_ValueError, "core: target out of range");
        }
    int masked = weight_obj != Py_None;
    if (masked && get_buffer(weight_obj, &weight, TB, 8, FLOAT64_FORMATS, "weight", 0) < 0) {
        PyBuffer_Release(&targets);
        return NULL;
    }
    output_gradient(c, TB, target, masked ? weight.buf : NULL);
    PyBuffer_Release(&targets);
    if (masked) PyBuffer_Release(&weight);
    learn_output(c, T);
    for (Py_ssize_t l = L - 1; l >= 0; l--) {
        gate_multipliers(c, l, TB);
        backward_through_time(c, l, T);
        layer_gradients(c, l, T);
    }
    AdamSettings s = {(float)beta1, (float)one_minus_beta1, (float)beta2, (float)one_minus_beta2,
                      (float)bias_correction, (float)eps, c->buffers[BUF_ADAM_M].len > 0};
    if (adam_step(c, &s, dense_groups, (float)embed_rate, (float)table_rate) < 0) return NULL;
    /* the last state of this segment is where the next one starts */
    double *hcat = F64(c, BUF_HCAT), *cell = F64(c, BUF_CELL);
    memcpy(hcat, hcat + T * B * LH, sizeof(double) * B * LH);
    for (Py_ssize_t l = 0; l < L; l++) {
        double *layer = cell + l * (c->dim[DIM_T] + 1) * B * H;
        memcpy(layer, layer + T * B * H, sizeof(double) * B * H);
    }
    Py_RETURN_NONE;
}

/* ---------------------------------------------------------------- context counts (contexts.ContextModel) */

#define CONTEXT_MULTIPLIER 0x9E3779B97F4A7C15ULL
#define CONFIDENCE_BUCKETS 12 /* contexts.CONFIDENCE_BUCKETS: bit lengths of a total, 0 .. 11 */
#define BYTE_CLASSES 6        /* contexts.BYTE_CLASSES: the column context's rows per column */

/* The hashed context's row of ``key`` with ``salt``: ContextModel._hashed. */
static inline int64_t hashed_row(uint64_t key, uint64_t salt, Py_ssize_t hash_bits) {
    return (int64_t)(((key + salt) * CONTEXT_MULTIPLIER) >> (64 - hash_bits));
}

/* Buffers of one call, or of a Stepper's life; released by ``release_all``. */
typedef struct {
    Py_buffer view;
    int held;
} Held;

static void release_all(Held *held, int count) {
    for (int k = 0; k < count; k++)
        if (held[k].held) {
            PyBuffer_Release(&held[k].view);
            held[k].held = 0;
        }
}

static void *hold(Held *held, PyObject *obj, Py_ssize_t count, Py_ssize_t itemsize, const char *formats,
                  const char *what, int writable) {
    if (get_buffer(obj, &held->view, count, itemsize, formats, what, writable) < 0) return NULL;
    held->held = 1;
    return held->view.buf;
}

static int compare_keys(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Count the keys (row * 256 + byte, sorted) into counts and totals: a row is halved once when a
 * key's count plus its repeats would pass ``limit``, then every key adds its repeats, saturating. */
static void count_keys(uint8_t *counts, int64_t *totals, const int64_t *keys, Py_ssize_t n, int64_t limit) {
    for (Py_ssize_t k = 0; k < n;) {
        Py_ssize_t end = k;
        while (end < n && keys[end] == keys[k]) end++;
        int64_t row = keys[k] >> 8;
        if (counts[keys[k]] + (end - k) > limit && totals[row] >= 0) {
            int64_t total = 0;
            for (int j = 0; j < ALPHABET; j++) total += counts[row * ALPHABET + j] >>= 1;
            totals[row] = -1 - total; /* marked halved (once), restored below */
        }
        k = end;
    }
    for (Py_ssize_t k = 0; k < n; k++)
        if (totals[keys[k] >> 8] < 0) totals[keys[k] >> 8] = -1 - totals[keys[k] >> 8];
    for (Py_ssize_t k = 0; k < n; k++)
        if (counts[keys[k]] < limit) {
            counts[keys[k]]++;
            totals[keys[k] >> 8]++;
        }
}

/* ContextModel's tables and rows: counts [R, 256] u8, totals [R], history [N] u64, rows [all, N] (the orders'
 * first, K of them), and the orders' first_row, direct, masks and salts [K]; keys [all * N] is scratch. */
typedef struct {
    uint8_t *counts;
    int64_t *totals, *rows, *keys;
    uint64_t *history;
    const int64_t *first_row;
    const uint8_t *direct;
    const uint64_t *masks, *salts;
    Py_ssize_t R, N, all, K, limit, hash_bits;
} Counting;

/* Check what a Counting's caller handed over; -1 with an exception if it would index outside. */
static int counting_sizes_ok(const Counting *m) {
    if (m->K > m->all || m->limit < 1 || m->limit > 255 || m->hash_bits < 1 || m->hash_bits > 63) {
        PyErr_SetString(PyExc_ValueError, "context_update: bad sizes");
        return -1;
    }
    return 0;
}

/* ContextModel.update's counting of ``actual`` [N] (the first ``active`` streams) and its orders' next rows. */
static int count_step(const Counting *m, const uint8_t *actual, Py_ssize_t active) {
    Py_ssize_t N = m->N, n = 0;
    if (active < 0 || active > N) {
        PyErr_SetString(PyExc_ValueError, "context_update: bad sizes");
        return -1;
    }
    for (Py_ssize_t k = 0; k < m->all; k++)
        for (Py_ssize_t s = 0; s < active; s++) {
            int64_t row = m->rows[k * N + s];
            if (row < 0 || row >= m->R) {
                PyErr_SetString(PyExc_ValueError, "context_update: row out of range");
                return -1;
            }
            m->keys[n++] = row * ALPHABET + actual[s];
        }
    qsort(m->keys, (size_t)n, sizeof(int64_t), compare_keys);
    count_keys(m->counts, m->totals, m->keys, n, m->limit);
    for (Py_ssize_t s = 0; s < N; s++) m->history[s] = (m->history[s] << 8) | actual[s];
    for (Py_ssize_t k = 0; k < m->K; k++)
        for (Py_ssize_t s = 0; s < N; s++) {
            uint64_t context = m->history[s] & m->masks[k];
            m->rows[k * N + s] =
                m->first_row[k] + (m->direct[k] ? (int64_t)context : hashed_row(context, m->salts[k], m->hash_bits));
        }
    return 0;
}

/* Hold a Counting's arrays: counts, totals, history, rows, first_row, direct, masks, salts, keys (objs[0..8]),
 * in held[0..8]; -1 with an exception if one is missing or of another shape. */
static int hold_counting(Counting *m, Held *held, PyObject **objs) {
    m->R = PyObject_Length(objs[1]);
    m->N = PyObject_Length(objs[2]);
    m->K = PyObject_Length(objs[4]);
    m->all = m->N > 0 ? PyObject_Length(objs[3]) : 0;
    if (m->R < 0 || m->N < 0 || m->K < 0 || m->all < 0) return -1;
    Py_ssize_t R = m->R, N = m->N, K = m->K, all = m->all;
    return (m->counts = hold(&held[0], objs[0], R * ALPHABET, 1, "B", "counts", 1)) &&
                   (m->totals = hold(&held[1], objs[1], R, 8, INT64_FORMATS, "totals", 1)) &&
                   (m->history = hold(&held[2], objs[2], N, 8, "LQ", "history", 1)) &&
                   (m->rows = hold(&held[3], objs[3], all * N, 8, INT64_FORMATS, "rows", 1)) &&
                   (m->first_row = hold(&held[4], objs[4], K, 8, INT64_FORMATS, "first_row", 0)) &&
                   (m->direct = hold(&held[5], objs[5], K, 1, "?B", "direct", 0)) &&
                   (m->masks = hold(&held[6], objs[6], K, 8, "LQ", "masks", 0)) &&
                   (m->salts = hold(&held[7], objs[7], K, 8, "LQ", "salts", 0)) &&
                   (m->keys = hold(&held[8], objs[8], all * N, 8, INT64_FORMATS, "keys", 1))
               ? counting_sizes_ok(m)
               : -1;
}

/* context_update(counts [R, 256] u8, totals [R] i64, history [N] u64, rows [K', N] i64, first_row [K] i64,
 * direct [K] u8, masks [K] u64, salts [K] u64, actual [N] u8, active, count_limit, hash_bits, keys [K' * N] i64):
 * ContextModel.update's counting and its orders' next rows (the other contexts' rows: their own calls). */
static PyObject *context_update(PyObject *Py_UNUSED(module), PyObject *args) {
    PyObject *objs[9], *actual_obj;
    Counting m;
    Py_ssize_t active;
    if (!PyArg_ParseTuple(args, "OOOOOOOOOnnnO", &objs[0], &objs[1], &objs[2], &objs[3], &objs[4], &objs[5],
                          &objs[6], &objs[7], &actual_obj, &active, &m.limit, &m.hash_bits, &objs[8]))
        return NULL;
    Held held[10] = {{{0}}};
    int ok = hold_counting(&m, held, objs) == 0;
    const uint8_t *actual = ok ? hold(&held[9], actual_obj, m.N, 1, "B", "actual", 0) : NULL;
    ok = actual && count_step(&m, actual, active) == 0;
    release_all(held, 10);
    if (!ok) return NULL;
    Py_RETURN_NONE;
}

/* ContextModel.predict into features [N, all, 256] and confidence [N, all]: each context's log counts and its
 * confidence bucket (the bit length of its total; with determinism, the second half where every count is
 * one byte's). */
static int context_features_into(const Counting *m, const double *log_counts, float *features, int64_t *confidence,
                                 int determinism) {
    Py_ssize_t N = m->N, all = m->all;
    for (Py_ssize_t s = 0; s < N; s++)
        for (Py_ssize_t k = 0; k < all; k++) {
            int64_t row = m->rows[k * N + s];
            if (row < 0 || row >= m->R) {
                PyErr_SetString(PyExc_ValueError, "context_features: row out of range");
                return -1;
            }
            const uint8_t *count = m->counts + row * ALPHABET;
            float *out = features + (s * all + k) * ALPHABET;
            uint8_t most = 0;
            for (int j = 0; j < ALPHABET; j++) {
                out[j] = (float)log_counts[count[j]]; /* an integer below 2**15: exact */
                most = count[j] > most ? count[j] : most;
            }
            /* the bit length of the total, at most CONFIDENCE_BUCKETS - 1 (searchsorted over 1, 2, 4 .. 1024) */
            int64_t total = m->totals[row], bits = 0;
            while (total > 0 && bits < CONFIDENCE_BUCKETS - 1) {
                total >>= 1;
                bits++;
            }
            int sure = determinism && m->totals[row] > 0 && most == m->totals[row];
            confidence[s * all + k] = bits + (sure ? CONFIDENCE_BUCKETS : 0);
        }
    return 0;
}

/* context_features(counts [R, 256] u8, totals [R] i64, rows [K', N] i64, log_counts [256] f64,
 * features [N, K', 256] f32, confidence [N, K'] i64, determinism): ContextModel.predict into the two outputs. */
static PyObject *context_features(PyObject *Py_UNUSED(module), PyObject *args) {
    PyObject *objs[6];
    int determinism;
    if (!PyArg_ParseTuple(args, "OOOOOOp", &objs[0], &objs[1], &objs[2], &objs[3], &objs[4], &objs[5], &determinism))
        return NULL;
    Held held[6] = {{{0}}};
    Counting m = {0};
    m.R = PyObject_Length(objs[1]);
    m.all = PyObject_Length(objs[2]);
    m.N = PyObject_Length(objs[4]);
    if (m.R < 0 || m.all < 0 || m.N < 0) return NULL;
    double *log_counts = NULL;
    float *features = NULL;
    int64_t *confidence = NULL;
    int ok = (m.counts = hold(&held[0], objs[0], m.R * ALPHABET, 1, "B", "counts", 0)) &&
             (m.totals = hold(&held[1], objs[1], m.R, 8, INT64_FORMATS, "totals", 0)) &&
             (m.rows = hold(&held[2], objs[2], m.all * m.N, 8, INT64_FORMATS, "rows", 0)) &&
             (log_counts = hold(&held[3], objs[3], ALPHABET, 8, FLOAT64_FORMATS, "log counts", 0)) &&
             (features = hold(&held[4], objs[4], m.N * m.all * ALPHABET, 4, FLOAT32_FORMATS, "features", 1)) &&
             (confidence = hold(&held[5], objs[5], m.N * m.all, 8, INT64_FORMATS, "confidence", 1)) &&
             context_features_into(&m, log_counts, features, confidence, determinism) == 0;
    release_all(held, 6);
    if (!ok) return NULL;
    Py_RETURN_NONE;
}

#define WORD_SALT 9
#define ABOVE_SALT 10
#define NO_BYTE 256
#define NEWLINE 10

/* A word's byte: an ASCII letter or a byte from 0x80 (contexts._WORD_BYTE). */
static inline int word_byte(uint8_t byte) { return byte >= 0x80 || ((byte | 0x20) >= 'a' && (byte | 0x20) <= 'z'); }

/* ContextModel._word_rows: each stream's word moved by its byte ``actual``, its row (from first_row) into row_out. */
static void word_rows_into(uint64_t *word, const uint8_t *actual, int64_t *row_out, Py_ssize_t N, Py_ssize_t first_row,
                           Py_ssize_t hash_bits) {
    for (Py_ssize_t s = 0; s < N; s++) {
        uint8_t byte = actual[s];
        int inside = word_byte(byte);
        word[s] = inside ? (word[s] + byte + 1) * CONTEXT_MULTIPLIER : 0;
        /* between words, the byte just read */
        row_out[s] = first_row + hashed_row(inside ? word[s] : byte, WORD_SALT, hash_bits);
    }
}

/* word_rows(word [N] u64, actual [N] u8, rows [K', N] i64, slot, first_row, hash_bits): ContextModel._word_rows
 * into rows[slot] (from first_row), each stream's word moved by its byte. */
static PyObject *word_rows(PyObject *Py_UNUSED(module), PyObject *args) {
    PyObject *objs[3];
    Py_ssize_t slot, first_row, hash_bits;
    if (!PyArg_ParseTuple(args, "OOOnnn", &objs[0], &objs[1], &objs[2], &slot, &first_row, &hash_bits)) return NULL;
    Held held[3] = {{{0}}};
    Py_ssize_t N = PyObject_Length(objs[0]), all = PyObject_Length(objs[2]);
    if (N < 0 || all < 0) return NULL;
    uint64_t *word = hold(&held[0], objs[0], N, 8, "LQ", "word", 1);
    uint8_t *actual = word ? hold(&held[1], objs[1], N, 1, "B", "actual", 0) : NULL;
    int64_t *rows = actual ? hold(&held[2], objs[2], all * N, 8, INT64_FORMATS, "rows", 1) : NULL;
    int ok = rows != NULL;
    if (ok && (slot < 0 || slot >= all || hash_bits < 1 || hash_bits > 63)) {
        PyErr_SetString(PyExc_ValueError, "word_rows: bad sizes");
        ok = 0;
    }
    if (ok) word_rows_into(word, actual, rows + slot * N, N, first_row, hash_bits);
    release_all(held, 3);
    if (!ok) return NULL;
    Py_RETURN_NONE;
}

/* ContextModel's lines for the above context: line and line_before [N, places] i16, place [N] i64. */
typedef struct {
    int16_t *line, *before;
    int64_t *place;
    Py_ssize_t N, places, first_row, hash_bits;
} Lines;

/* ContextModel._read_lines, then _above_key_rows into row_out [N]. */
static int above_rows_into(const Lines *m, const uint8_t *actual, int64_t *row_out) {
    Py_ssize_t width = m->places - 1; /* ABOVE_WIDTH: the last place stays "none" */
    for (Py_ssize_t s = 0; s < m->N; s++) {
        int16_t *own = m->line + s * m->places, *above = m->before + s * m->places;
        int64_t *place = m->place + s;
        uint8_t byte = actual[s];
        if (*place < 0) {
            PyErr_SetString(PyExc_ValueError, "above_rows: negative place");
            return -1;
        }
        if (*place < width) own[*place] = byte;
        if (byte == NEWLINE) {
            memcpy(above, own, sizeof(int16_t) * (size_t)m->places);
            for (Py_ssize_t k = 0; k < m->places; k++) own[k] = NO_BYTE;
            *place = 0;
        } else
            (*place)++;
        Py_ssize_t at = *place < width ? *place : width, next = *place + 1 < width ? *place + 1 : width;
        /* each part below 257: the key is the three of them exactly */
        uint64_t key = ((uint64_t)above[at] * 257 + (uint64_t)above[next]) * 256 + byte;
        row_out[s] = m->first_row + hashed_row(key, ABOVE_SALT, m->hash_bits);
    }
    return 0;
}

/* Hold line, line_before, place (objs[0..2]) in held[0..2]; -1 with an exception if of another shape. */
static int hold_lines(Lines *m, Held *held, PyObject **objs) {
    m->N = PyObject_Length(objs[2]);
    if (m->N < 0) return -1;
    if (m->places < 2 || m->hash_bits < 1 || m->hash_bits > 63) {
        PyErr_SetString(PyExc_ValueError, "above_rows: bad sizes");
        return -1;
    }
    return (m->line = hold(&held[0], objs[0], m->N * m->places, 2, INT16_FORMATS, "line", 1)) &&
                   (m->before = hold(&held[1], objs[1], m->N * m->places, 2, INT16_FORMATS, "line before", 1)) &&
                   (m->place = hold(&held[2], objs[2], m->N, 8, INT64_FORMATS, "place", 1))
               ? 0
               : -1;
}

/* above_rows(line [N, W + 1] i16, line_before [N, W + 1] i16, place [N] i64, actual [N] u8, rows [K', N] i64,
 * W + 1, first_row, hash_bits): ContextModel._read_lines, then _above_key_rows into the last row of ``rows``. */
static PyObject *above_rows(PyObject *Py_UNUSED(module), PyObject *args) {
    PyObject *objs[5];
    Lines m;
    if (!PyArg_ParseTuple(args, "OOOOOnnn", &objs[0], &objs[1], &objs[2], &objs[3], &objs[4], &m.places, &m.first_row,
                          &m.hash_bits))
        return NULL;
    Held held[5] = {{{0}}};
    Py_ssize_t all = PyObject_Length(objs[4]);
    if (all < 1) {
        if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "above_rows: bad sizes");
        return NULL;
    }
    int ok = hold_lines(&m, held, objs) == 0;
    uint8_t *actual = ok ? hold(&held[3], objs[3], m.N, 1, "B", "actual", 0) : NULL;
    int64_t *rows = actual ? hold(&held[4], objs[4], all * m.N, 8, INT64_FORMATS, "rows", 1) : NULL;
    ok = rows && above_rows_into(&m, actual, rows + (all - 1) * m.N) == 0;
    release_all(held, 5);
    if (!ok) return NULL;
    Py_RETURN_NONE;
}

/* ---------------------------------------------------------------- match model (match.MatchModel) */

#define NO_MATCH (-1)
#define MATCH_BUCKETS 16

/* Drop stream s's new match at ``pointer`` unless the ``length`` bytes before it are the stream's own last
 * ones (up to step t); indices as NumPy's, a negative column counting from the row's end. */
static int64_t verified(const uint8_t *matrix, Py_ssize_t S, Py_ssize_t s, Py_ssize_t t, int64_t pointer,
                        Py_ssize_t length) {
    int64_t row = (pointer - 1) / S, column = (pointer - 1) % S;
    for (Py_ssize_t b = 0; b < length; b++) {
        int64_t theirs = column - b < 0 ? column - b + S : column - b;
        if (matrix[row * S + theirs] != matrix[s * S + t - b]) return NO_MATCH;
    }
    return pointer;
}

/* MatchModel's arrays: the byte matrix [N, S], pointer and length [N], chains [L, N] u64, and its one or two
 * tables of 2**hash_bits positions with the context length each hashes. */
typedef struct {
    const uint8_t *matrix;
    int64_t *pointer, *length;
    uint64_t *chains;
    int64_t *table[2];
    Py_ssize_t context[2];
    Py_ssize_t N, S, L, tables, hash_bits;
} Matching;

/* MatchModel.update: byte t of every stream is known; extend or drop matches, look up new ones, insert. */
static int match_step(const Matching *m, Py_ssize_t t) {
    Py_ssize_t N = m->N, S = m->S, L = m->L, size = N * S;
    const uint8_t *matrix = m->matrix;
    int64_t *pointer = m->pointer, *length = m->length;
    uint64_t *chains = m->chains;
    if (t < 0 || t >= S) {
        PyErr_SetString(PyExc_ValueError, "match_update: bad step or tables");
        return -1;
    }
    for (Py_ssize_t s = 0; s < N; s++) {
        uint8_t actual = matrix[s * S + t];
        int hit = pointer[s] != NO_MATCH && matrix[pointer[s]] == actual;
        length[s] = hit ? length[s] + 1 : 0;
        pointer[s] = hit && pointer[s] + 1 < size ? pointer[s] + 1 : NO_MATCH;
        for (Py_ssize_t j = L - 1; j > 0; j--) chains[j * N + s] = chains[(j - 1) * N + s] ^ actual;
        if (L) chains[s] = actual;
        for (Py_ssize_t j = 0; j < L; j++) chains[j * N + s] *= CONTEXT_MULTIPLIER;
    }
    for (Py_ssize_t k = 0; k < m->tables; k++) {
        Py_ssize_t context = m->context[k];
        int64_t *table = m->table[k];
        if (t + 1 < context) continue;
        const uint64_t *chain = chains + (context - 1) * N;
        for (Py_ssize_t s = 0; s < N; s++) {
            if (pointer[s] != NO_MATCH) continue;
            int64_t found = table[(int64_t)(chain[s] >> (64 - m->hash_bits))];
            if (found != NO_MATCH && (found < 1 || found > size)) {
                PyErr_SetString(PyExc_ValueError, "match_update: table position out of range");
                return -1;
            }
            pointer[s] = found == NO_MATCH ? NO_MATCH : verified(matrix, S, s, t, found, context);
        }
        /* insert (stream, t + 1) for each context; where streams share a key, the last stream wins */
        for (Py_ssize_t s = 0; s < N; s++) table[(int64_t)(chain[s] >> (64 - m->hash_bits))] = s * S + t + 1;
    }
    return 0;
}

/* MatchModel.predict into expected and bucket [N]: the byte each match points at and its length's bucket;
 * streams without a match get (0, MATCH_BUCKETS). */
static int match_guess(const Matching *m, int64_t *expected, int64_t *bucket) {
    for (Py_ssize_t s = 0; s < m->N; s++) {
        int64_t pointer = m->pointer[s], length = m->length[s];
        if (pointer < NO_MATCH || pointer >= m->N * m->S) {
            PyErr_SetString(PyExc_IndexError, "match_predict: pointer out of the matrix");
            return -1;
        }
        int matched = pointer != NO_MATCH;
        expected[s] = matched ? m->matrix[pointer] : 0;
        bucket[s] = matched ? (length < MATCH_BUCKETS - 1 ? length : MATCH_BUCKETS - 1) : MATCH_BUCKETS;
    }
    return 0;
}

/* Hold the byte matrix [N, S] (C-contiguous bytes, N rows, S >= 1); -1 with an exception if it is not one. */
static int hold_matrix(Held *held, PyObject *obj, Py_ssize_t N, const uint8_t **matrix, Py_ssize_t *S) {
    if (N < 1 || PyObject_Length(obj) != N || PyObject_GetBuffer(obj, &held->view, PyBUF_C_CONTIGUOUS) < 0) {
        if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "match: matrix must be [streams, steps] uint8");
        return -1;
    }
    held->held = 1;
    *matrix = held->view.buf;
    *S = held->view.len / N;
    if (*S < 1 || *S * N != held->view.len || held->view.itemsize != 1) {
        PyErr_SetString(PyExc_ValueError, "match: matrix must be [streams, steps] uint8");
        return -1;
    }
    return 0;
}

/* Hold the matrix, pointer and length (objs[0..2]) in held[0..2]; with ``chains`` (not NULL), the chains
 * and the tables ((length, table), ...) in held[3..5]. -1 with an exception if one is of another shape. */
static int hold_matching(Matching *m, Held *held, PyObject **objs, PyObject *chains, PyObject *tables, int writable) {
    m->N = PyObject_Length(objs[1]);
    if (m->N < 0 || hold_matrix(&held[0], objs[0], m->N, &m->matrix, &m->S) < 0) return -1;
    if (!(m->pointer = hold(&held[1], objs[1], m->N, 8, INT64_FORMATS, "pointer", writable)) ||
        !(m->length = hold(&held[2], objs[2], m->N, 8, INT64_FORMATS, "length", writable)))
        return -1;
    if (!chains) return 0;
    m->L = PyObject_Length(chains);
    m->tables = PyTuple_GET_SIZE(tables);
    if (m->L < 0) return -1;
    if (m->tables > 2 || m->hash_bits < 1 || m->hash_bits > 40) {
        PyErr_SetString(PyExc_ValueError, "match_update: bad step or tables");
        return -1;
    }
    if (!(m->chains = hold(&held[3], chains, m->L * m->N, 8, "LQ", "chains", 1))) return -1;
    for (Py_ssize_t k = 0; k < m->tables; k++) {
        PyObject *table;
        if (!PyArg_ParseTuple(PyTuple_GET_ITEM(tables, k), "nO", &m->context[k], &table)) return -1;
        if (m->context[k] < 1 || m->context[k] > m->L) {
            PyErr_SetString(PyExc_ValueError, "match_update: context longer than the chains");
            return -1;
        }
        if (!(m->table[k] = hold(&held[4 + k], table, (Py_ssize_t)1 << m->hash_bits, 8, INT64_FORMATS, "table", 1)))
            return -1;
    }
    return 0;
}

/* match_update(matrix [N, S] u8, t, pointer [N] i64, length [N] i64, chains [L, N] u64, ((length, table), ...),
 * hash_bits): MatchModel.update. */
static PyObject *match_update(PyObject *Py_UNUSED(module), PyObject *args) {
    PyObject *objs[3], *chains, *tables;
    Py_ssize_t t;
    Matching m;
    if (!PyArg_ParseTuple(args, "OnOOOO!n", &objs[0], &t, &objs[1], &objs[2], &chains, &PyTuple_Type, &tables,
                          &m.hash_bits))
        return NULL;
    Held held[6] = {{{0}}};
    int ok = hold_matching(&m, held, objs, chains, tables, 1) == 0 && match_step(&m, t) == 0;
    release_all(held, 6);
    if (!ok) return NULL;
    Py_RETURN_NONE;
}

/* match_predict(matrix [N, S] u8, pointer [N] i64, length [N] i64, expected [N] i64, bucket [N] i64) */
static PyObject *match_predict(PyObject *Py_UNUSED(module), PyObject *args) {
    PyObject *objs[5];
    if (!PyArg_ParseTuple(args, "OOOOO", &objs[0], &objs[1], &objs[2], &objs[3], &objs[4])) return NULL;
    Held held[5] = {{{0}}};
    Matching m;
    int64_t *expected = NULL, *bucket = NULL;
    int ok = hold_matching(&m, held, objs, NULL, NULL, 0) == 0 &&
             (expected = hold(&held[3], objs[3], m.N, 8, INT64_FORMATS, "expected", 1)) &&
             (bucket = hold(&held[4], objs[4], m.N, 8, INT64_FORMATS, "bucket", 1)) && match_guess(&m, expected, bucket) == 0;
    release_all(held, 5);
    if (!ok) return NULL;
    Py_RETURN_NONE;
}

/* ---------------------------------------------------------------- columns (words.Columns) */

/* words.Columns' arrays: per stream pending, rank, column and word [N]; by byte tail, rank_base, width [256]
 * and restarts [256]; word_widths [W]; and its constants. */
typedef struct {
    int64_t *pending, *rank, *column, *word;
    const int64_t *tail, *rank_base, *width, *word_widths;
    const uint8_t *restarts;
    Py_ssize_t N, W, limit, escaped, file_code_width, word_first_rank, word_rows;
} Columns;

/* Columns.update: read each stream's next coded byte ``actual`` [N]. */
static int columns_step(const Columns *m, const uint8_t *actual) {
    int64_t *pending = m->pending, *rank = m->rank, *column = m->column, *word = m->word;
    for (Py_ssize_t s = 0; s < m->N; s++) {
        int64_t byte = actual[s];
        int inside = pending[s] > 0;
        pending[s] = inside ? pending[s] - 1 : m->tail[byte];
        if (pending[s] < 0 || pending[s] > 7) {
            PyErr_SetString(PyExc_ValueError, "columns_update: token tail out of range");
            return -1;
        }
        if (inside)
            rank[s] += rank[s] >= 0 ? byte << (8 * pending[s]) : 0;
        else
            rank[s] = m->rank_base[byte];
        int64_t token_width = rank[s] >= 0 ? m->word_widths[rank[s] < m->W ? rank[s] : m->W - 1]
                                           : (rank[s] == m->escaped ? 1 : m->file_code_width);
        int64_t step = inside ? (pending[s] == 0 ? token_width : 0) : m->width[byte];
        int64_t next = column[s] + step < m->limit - 1 ? column[s] + step : m->limit - 1;
        column[s] = !inside && m->restarts[byte] ? 0 : next;
        int64_t w = rank[s] - m->word_first_rank;
        word[s] = inside && pending[s] == 0 && w >= 0 && w < m->word_rows ? w : m->word_rows;
    }
    return 0;
}

/* Hold pending, rank, column, word, tail, rank_base, width, restarts, word_widths (objs[0..8]) in
 * held[0..8], the constants already in ``m``; -1 with an exception if one is of another shape. */
static int hold_columns(Columns *m, Held *held, PyObject **objs) {
    m->N = PyObject_Length(objs[0]);
    m->W = PyObject_Length(objs[8]);
    if (m->N < 0 || m->W < 0) return -1;
    int64_t **state[4] = {&m->pending, &m->rank, &m->column, &m->word};
    for (int k = 0; k < 4; k++)
        if (!(*state[k] = hold(&held[k], objs[k], m->N, 8, INT64_FORMATS, "stream state", 1))) return -1;
    if (!(m->tail = hold(&held[4], objs[4], ALPHABET, 8, INT64_FORMATS, "tail", 0)) ||
        !(m->rank_base = hold(&held[5], objs[5], ALPHABET, 8, INT64_FORMATS, "rank_base", 0)) ||
        !(m->width = hold(&held[6], objs[6], ALPHABET, 8, INT64_FORMATS, "width", 0)) ||
        !(m->restarts = hold(&held[7], objs[7], ALPHABET, 1, "?", "restarts", 0)) ||
        !(m->word_widths = hold(&held[8], objs[8], m->W, 8, INT64_FORMATS, "word_widths", 0)))
        return -1;
    if (m->W < 1 || m->limit < 1) {
        PyErr_SetString(PyExc_ValueError, "columns_update: empty tables");
        return -1;
    }
    return 0;
}

/* columns_update(actual [N] u8, pending, rank, column, word [N] i64, tail, rank_base, width [256] i64,
 * restarts [256] bool, word_widths [W] i64, (limit, escaped, file_code_width, word_first_rank, word_rows)):
 * Columns.update in place. */
static PyObject *columns_update(PyObject *Py_UNUSED(module), PyObject *args) {
    PyObject *objs[9], *actual_obj;
    Columns m;
    if (!PyArg_ParseTuple(args, "OOOOOOOOOO(nnnnn)", &actual_obj, &objs[0], &objs[1], &objs[2], &objs[3], &objs[4],
                          &objs[5], &objs[6], &objs[7], &objs[8], &m.limit, &m.escaped, &m.file_code_width,
                          &m.word_first_rank, &m.word_rows))
        return NULL;
    Held held[10] = {{{0}}};
    int ok = hold_columns(&m, held, objs) == 0;
    const uint8_t *actual = ok ? hold(&held[9], actual_obj, m.N, 1, "B", "actual", 0) : NULL;
    ok = actual && columns_step(&m, actual) == 0;
    release_all(held, 10);
    if (!ok) return NULL;
    Py_RETURN_NONE;
}

/* ---------------------------------------------------------------- probability map (apm.ProbabilityMap) */

#define APM_NODES 255
#define APM_POINTS 33
#define APM_POINT_SHIFT 10
#define APM_TABLE_BITS 22
#define APM_OUT_BITS 16
#define APM_MIN_OUT (1 << (APM_OUT_BITS - 11))
#define APM_RATE_BITS 16

/* One stream's refinement: subtree masses, each node's table position (low, share), the refined
 * decisions, and the byte probabilities as products root first, as ProbabilityMap.refine. */
static void apm_refine_one(const double *weights, const int64_t *table, const int16_t *position, int64_t *low,
                           int64_t *share, float *out) {
    double mass[512], right[APM_NODES], paths[2][256];
    memcpy(mass + 256, weights, 256 * sizeof(double));
    for (int j = 255; j >= 1; j--) mass[j] = mass[2 * j] + mass[2 * j + 1];
    for (int k = 1; k <= APM_NODES; k++) {
        double chance = floor(mass[2 * k + 1] * 65536.0 / mass[k]); /* P(right) at 2**16 */
        int64_t at = position[(int64_t)chance];
        low[k - 1] = (at >> APM_POINT_SHIFT) + (k - 1) * APM_POINTS;
        share[k - 1] = at & ((1 << APM_POINT_SHIFT) - 1);
        int64_t refined = table[low[k - 1]] * ((1 << APM_POINT_SHIFT) - share[k - 1]) + table[low[k - 1] + 1] * share[k - 1];
        refined >>= APM_POINT_SHIFT + APM_TABLE_BITS - APM_OUT_BITS;
        refined = refined < APM_MIN_OUT ? APM_MIN_OUT : (refined > (1 << APM_OUT_BITS) - APM_MIN_OUT ? (1 << APM_OUT_BITS) - APM_MIN_OUT : refined);
        right[k - 1] = (double)refined;
    }
    double *p = paths[0], *next = paths[1];
    p[0] = 65536.0 - right[0];
    p[1] = right[0];
    for (int depth = 1; depth < 8; depth++) {
        int first = (1 << depth) - 1;
        for (int j = 0; j < 1 << depth; j++) {
            double r = right[first + j];
            next[2 * j] = p[j] * (65536.0 - r);
            next[2 * j + 1] = p[j] * r;
        }
        double *swap = p;
        p = next;
        next = swap;
    }
    for (int b = 0; b < 256; b++) out[b] = (float)(p[b] * 0x1p-128);
}

/* ProbabilityMap's table [255 * 33] and position [65537], each stream's entries low and share [N, 255], and for
 * updates each entry's counted updates [255 * 33] and the rates [rate_count] at 2**16 by that count. */
typedef struct {
    int64_t *table, *low, *share, *updates;
    const int16_t *position;
    const int64_t *rates;
    Py_ssize_t rate_count;
} Map;

/* Hold the map's table, position (unless NULL), and low and share of n streams in held[0..3]; -1 with an
 * exception if one is of another shape. */
static int hold_map(Map *m, Held *held, PyObject *table, PyObject *position, PyObject *low, PyObject *share,
                    Py_ssize_t n) {
    return (m->table = hold(&held[0], table, APM_NODES * APM_POINTS, 8, INT64_FORMATS, "table", 1)) &&
                   (!position || (m->position = hold(&held[1], position, 65537, 2, INT16_FORMATS, "position", 0))) &&
                   (m->low = hold(&held[2], low, n * APM_NODES, 8, INT64_FORMATS, "low", 1)) &&
                   (m->share = hold(&held[3], share, n * APM_NODES, 8, INT64_FORMATS, "share", 1))
               ? 0
               : -1;
}

/* Hold the map's update counts and rates in held[0..1]; -1 with an exception if one is of another shape. */
static int hold_rates(Map *m, Held *held, PyObject *updates, PyObject *rates) {
    m->rate_count = PyObject_Length(rates);
    if (m->rate_count < 1) {
        if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "core: rates must not be empty");
        return -1;
    }
    if (!(m->updates = hold(&held[0], updates, APM_NODES * APM_POINTS, 8, INT64_FORMATS, "updates", 1)) ||
        !(m->rates = hold(&held[1], rates, m->rate_count, 8, INT64_FORMATS, "rates", 0)))
        return -1;
    for (Py_ssize_t e = 0; e < APM_NODES * APM_POINTS; e++)
        if (m->updates[e] < 0 || m->updates[e] >= m->rate_count) {
            PyErr_SetString(PyExc_ValueError, "core: an update count past the rates");
            return -1;
        }
    return 0;
}

/* ProbabilityMap.refine of n rows of weights [n, 256] (integers >= 1) into out [n, 256]. */
static int apm_refine_rows(const Map *m, const double *weights, Py_ssize_t n, float *out) {
    for (Py_ssize_t r = 0; r < n * 256; r++)
        if (!(weights[r] >= 1.0)) { /* integers >= 1: every chance is in [0, 1] */
            PyErr_SetString(PyExc_ValueError, "apm_refine: weights must be >= 1");
            return -1;
        }
    for (Py_ssize_t r = 0; r < n; r++)
        apm_refine_one(weights + r * 256, m->table, m->position, m->low + r * APM_NODES, m->share + r * APM_NODES,
                       out + r * 256);
    return 0;
}

/* apm_refine(weights [n, 256] f64, table [255 * 33] i64, position [65537] i16, low [n, 255] i64,
 * share [n, 255] i64, probabilities [n, 256] f32) */
static PyObject *apm_refine(PyObject *Py_UNUSED(module), PyObject *args) {
    PyObject *objs[6];
    if (!PyArg_ParseTuple(args, "OOOOOO", &objs[0], &objs[1], &objs[2], &objs[3], &objs[4], &objs[5])) return NULL;
    Held held[6] = {{{0}}};
    Map m;
    Py_ssize_t n = PyObject_Length(objs[0]);
    if (n < 0) return NULL;
    double *weights = NULL;
    float *out = NULL;
    int ok = hold_map(&m, held, objs[1], objs[2], objs[3], objs[4], n) == 0 &&
             (weights = hold(&held[4], objs[0], n * 256, 8, FLOAT64_FORMATS, "weights", 0)) &&
             (out = hold(&held[5], objs[5], n * 256, 4, FLOAT32_FORMATS, "probabilities", 1)) &&
             apm_refine_rows(&m, weights, n, out) == 0;
    release_all(held, 6);
    if (!ok) return NULL;
    Py_RETURN_NONE;
}

/* An entry's update rate at 2**16, by its counted updates (kept below rate_count). */
static inline int64_t apm_rate(const Map *m, int64_t entry) { return m->rates[m->updates[entry]]; }

/* ProbabilityMap.update: the bytes ``symbols`` [n] were coded with the last refinement; every step from the
 * table and the update counts as they were, then all added, as np.add.at. ``steps`` is scratch of 16 n values. */
static int apm_update_rows(const Map *m, const uint8_t *symbols, Py_ssize_t n, int64_t *steps) {
    for (Py_ssize_t r = 0; r < n; r++)
        for (int depth = 0; depth < 8; depth++) {
            int node = ((256 + symbols[r]) >> (8 - depth)) - 1;
            int64_t entry = m->low[r * APM_NODES + node], above = m->share[r * APM_NODES + node];
            if (entry < 0 || entry + 1 >= APM_NODES * APM_POINTS) {
                PyErr_SetString(PyExc_ValueError, "apm_update: entry out of the table");
                return -1;
            }
            int64_t target = (int64_t)((symbols[r] >> (7 - depth)) & 1) << APM_TABLE_BITS;
            int64_t below = (1 << APM_POINT_SHIFT) - above;
            steps[16 * r + 2 * depth] = (((target - m->table[entry]) * below) >> APM_POINT_SHIFT) * apm_rate(m, entry);
            steps[16 * r + 2 * depth + 1] =
                (((target - m->table[entry + 1]) * above) >> APM_POINT_SHIFT) * apm_rate(m, entry + 1);
        }
    const int64_t half = 1 << (APM_POINT_SHIFT - 1), last = m->rate_count - 1;
    for (Py_ssize_t r = 0; r < n; r++)
        for (int depth = 0; depth < 8; depth++) {
            int node = ((256 + symbols[r]) >> (8 - depth)) - 1;
            int64_t entry = m->low[r * APM_NODES + node], above = m->share[r * APM_NODES + node];
            m->table[entry] += steps[16 * r + 2 * depth] >> APM_RATE_BITS;
            m->table[entry + 1] += steps[16 * r + 2 * depth + 1] >> APM_RATE_BITS;
            /* the nearer point's update counts (both at the midpoint), up to the last rate */
            if ((1 << APM_POINT_SHIFT) - above >= half && m->updates[entry] < last) m->updates[entry]++;
            if (above >= half && m->updates[entry + 1] < last) m->updates[entry + 1]++;
        }
    return 0;
}

/* apm_update(symbols [n] u8, table [255 * 33] i64, low [n, 255] i64, share [n, 255] i64, updates [255 * 33] i64,
 * rates [k] i64) */
static PyObject *apm_update(PyObject *Py_UNUSED(module), PyObject *args) {
    PyObject *objs[6];
    if (!PyArg_ParseTuple(args, "OOOOOO", &objs[0], &objs[1], &objs[2], &objs[3], &objs[4], &objs[5])) return NULL;
    Held held[6] = {{{0}}};
    Map m;
    Py_ssize_t n = PyObject_Length(objs[0]);
    if (n < 0) return NULL;
    uint8_t *symbols = NULL;
    int64_t *steps = NULL;
    int ok = hold_map(&m, held, objs[1], NULL, objs[2], objs[3], n) == 0 &&
             (symbols = hold(&held[1], objs[0], n, 1, "B", "symbols", 0)) &&
             hold_rates(&m, &held[4], objs[4], objs[5]) == 0;
    if (ok && !(steps = malloc(sizeof(int64_t) * (size_t)(16 * n + 1)))) {
        PyErr_NoMemory();
        ok = 0;
    }
    ok = ok && apm_update_rows(&m, symbols, n, steps) == 0;
    free(steps);
    release_all(held, 6);
    if (!ok) return NULL;
    Py_RETURN_NONE;
}

/* ---------------------------------------------------------------- numerics._decay_chain */

/* decay_chain(step_high, step_low, high [count] u64, low [count] u64): value k = value k-1 * step >> 96 from
 * value 0 = 2**96, each value as its bits above and below bit 64: numerics._decay_chain's Python integers,
 * exactly, in three 64-bit limbs (a product of two values below 2**97 is below 2**194) */
static PyObject *decay_chain(PyObject *Py_UNUSED(module), PyObject *args) {
    unsigned long long step_high, step_low;
    PyObject *objs[2];
    if (!PyArg_ParseTuple(args, "KKOO", &step_high, &step_low, &objs[0], &objs[1])) return NULL;
    Py_ssize_t count = PyObject_Length(objs[0]);
    if (count < 1 || step_high >> 32) {
        if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "decay_chain: no values, or a step of 2**96 or more");
        return NULL;
    }
    Held held[2] = {{{0}}};
    uint64_t *high = hold(&held[0], objs[0], count, 8, "LQ", "high", 1);
    uint64_t *low = high ? hold(&held[1], objs[1], count, 8, "LQ", "low", 1) : NULL;
    if (!low) {
        release_all(held, 2);
        return NULL;
    }
    typedef unsigned __int128 u128;
    uint64_t a1 = 1ULL << 32, a0 = 0; /* 2**96 */
    for (Py_ssize_t k = 0; k < count; k++) {
        high[k] = a1;
        low[k] = a0;
        u128 p00 = (u128)a0 * step_low, middle = (p00 >> 64) + (u128)a0 * step_high + (u128)a1 * step_low;
        u128 top = (middle >> 64) + (u128)a1 * step_high; /* the product is top * 2**128 + middle's low half ... */
        u128 value = (top << 32) | (uint64_t)middle >> 32; /* ... and this its bits from 96 */
        a1 = (uint64_t)(value >> 64);
        a0 = (uint64_t)value;
    }
    release_all(held, 2);
    Py_RETURN_NONE;
}

/* ---------------------------------------------------------------- transforms.py's x86 address transform */

#define X86_OPERAND_RANGE (1u << 24) /* operands in [-2^24, 2^24) are converted, modulo 2^25 */

/* x86_addresses(content, rip_relative, direction): transforms.py's scan and conversion in place on a
 * writable byte buffer, direction +1 (apply) or -1 (undo); the NumPy code there is its oracle. */
static PyObject *x86_addresses(PyObject *self, PyObject *args) {
    (void)self;
    Py_buffer view;
    int rip_relative, direction;
    if (!PyArg_ParseTuple(args, "w*ii", &view, &rip_relative, &direction)) return NULL;
    uint8_t *content = view.buf;
    Py_ssize_t size = view.len, i = 0;
    while (i < size) {
        Py_ssize_t operand;
        uint8_t opcode = content[i];
        if ((opcode == 0xE8 || opcode == 0xE9) && size - i >= 5)
            operand = i + 1;
        else if (rip_relative && (opcode == 0x89 || opcode == 0x8B || opcode == 0x8D || opcode == 0xFF) &&
                 size - i >= 6 &&
                 (content[i + 1] & 0xC7) == 0x05)
            operand = i + 2;
        else {
            i++;
            continue;
        }
        uint8_t *bytes = content + operand;
        uint32_t value = bytes[0] | (uint32_t)bytes[1] << 8 | (uint32_t)bytes[2] << 16 | (uint32_t)bytes[3] << 24;
        uint32_t shifted = value + X86_OPERAND_RANGE; /* below 2^25 exactly for the operands converted */
        i = operand + 4;
        if (shifted < 2 * X86_OPERAND_RANGE) {
            uint32_t end = (uint32_t)i, mask = 2 * X86_OPERAND_RANGE - 1;
            value = ((direction > 0 ? shifted + end : shifted - end) & mask) - X86_OPERAND_RANGE;
            for (int k = 0; k < 4; k++) bytes[k] = (uint8_t)(value >> 8 * k);
        }
    }
    PyBuffer_Release(&view);
    Py_RETURN_NONE;
}

static PyMethodDef module_functions[] = {
    {"context_update", context_update, METH_VARARGS, "ContextModel.update's counting and next rows"},
    {"context_features", context_features, METH_VARARGS, "ContextModel.predict into preallocated arrays"},
    {"match_update", match_update, METH_VARARGS, "MatchModel.update"},
    {"columns_update", columns_update, METH_VARARGS, "words.Columns.update in place"},
    {"word_rows", word_rows, METH_VARARGS, "ContextModel's word context: the words moved and their rows"},
    {"above_rows", above_rows, METH_VARARGS, "ContextModel's above context: the lines moved and their rows"},
    {"apm_refine", apm_refine, METH_VARARGS, "ProbabilityMap.refine into preallocated arrays"},
    {"apm_update", apm_update, METH_VARARGS, "ProbabilityMap.update"},
    {"match_predict", match_predict, METH_VARARGS, "MatchModel.predict into preallocated arrays"},
    {"x86_addresses", x86_addresses, METH_VARARGS, "transforms.py's x86 address transform in place"},
    {"decay_chain", decay_chain, METH_VARARGS, "numerics._decay_chain's values in two 64-bit halves"},
    {NULL, NULL, 0, NULL},
};

/* ---------------------------------------------------------------- the Python type */

static void Core_release(Core *c) {
    for (int k = 0; k < c->held; k++) PyBuffer_Release(&c->buffers[k]);
    c->held = 0;
    double **scratch[] = {&c->pre_activation, &c->logits, &c->word_vectors, &c->dlogits, &c->dh, &c->delta,
                          &c->multiplier, &c->out_to_cell, &c->dc, &c->dh_step, &c->product};
    for (size_t k = 0; k < sizeof scratch / sizeof *scratch; k++) {
        free(*scratch[k]);
        *scratch[k] = NULL;
    }
    for (int k = 0; k < ROW_TABLE_COUNT; k++) {
        free(c->row_tables[k].sums);
        free(c->row_tables[k].touched);
        c->row_tables[k].sums = NULL;
        c->row_tables[k].touched = NULL;
    }
}

static void Core_dealloc(Core *c) {
    Core_release(c);
    Py_TYPE(c)->tp_free((PyObject *)c);
}

static double *zeros(Py_ssize_t count) { return calloc((size_t)(count > 0 ? count : 1), sizeof(double)); }

static int allocate_scratch(Core *c) {
    Py_ssize_t B = c->dim[DIM_B], T = c->dim[DIM_T], H = c->dim[DIM_H], L = c->dim[DIM_L], E = c->dim[DIM_E];
    Py_ssize_t G = 4 * H, TB = T * B;
    c->pre_activation = zeros(B * G);
    c->logits = zeros(B * ALPHABET);
    c->word_vectors = zeros(TB * E);
    c->dlogits = zeros(TB * ALPHABET);
    c->dh = zeros(TB * L * H);
    c->delta = zeros(TB * G);
    c->multiplier = zeros(TB * G);
    c->out_to_cell = zeros(TB * H);
    c->dc = zeros(B * H);
    c->dh_step = zeros(B * H);
    c->product = zeros(TB * (H > E ? H : E));
    Py_ssize_t word_rows = E ? c->dim[DIM_WORD_ROWS] + 1 : 0;
    RowTable specs[ROW_TABLE_COUNT] = {
        {c->dim[OFF_EMBED], ALPHABET, G, L, -1, ONE, NULL, NULL},
        {c->dim[OFF_OUT_EMBED], ALPHABET, ALPHABET, 1, -1, ONE, NULL, NULL},
        {c->dim[OFF_MATCH_EMBED], ALPHABET + 1, G, 1, ALPHABET, ONE, NULL, NULL}, /* row 256: no match */
        {c->dim[OFF_COLUMN_EMBED], c->dim[DIM_COLUMN_ROWS], G, 1, -1, ONE, NULL, NULL},
        {c->dim[OFF_WORD_EMBED], word_rows, E, 1, word_rows - 1, 1.0, NULL, NULL}, /* last row: no word */
    };
    int ok = c->pre_activation && c->logits && c->word_vectors && c->dlogits && c->dh && c->delta && c->multiplier &&
             c->out_to_cell && c->dc && c->dh_step && c->product;
    for (int k = 0; k < ROW_TABLE_COUNT; k++) {
        c->row_tables[k] = specs[k];
        c->row_tables[k].sums = zeros(specs[k].layers * specs[k].rows * specs[k].width);
        c->row_tables[k].touched = calloc((size_t)specs[k].rows + 1, 1);
        ok = ok && c->row_tables[k].sums && c->row_tables[k].touched;
    }
    if (!ok) PyErr_NoMemory();
    return ok ? 0 : -1;
}

/* Core(dimensions: tuple of DIMENSION_COUNT ints, buffers: tuple of BUFFER_COUNT arrays) */
static int Core_init(Core *c, PyObject *args, PyObject *kwargs) {
    PyObject *dims, *buffers;
    if (kwargs && PyDict_Size(kwargs)) {
        PyErr_SetString(PyExc_TypeError, "Core takes no keyword arguments");
        return -1;
    }
    if (!PyArg_ParseTuple(args, "O!O!", &PyTuple_Type, &dims, &PyTuple_Type, &buffers)) return -1;
    if (PyTuple_GET_SIZE(dims) != DIMENSION_COUNT || PyTuple_GET_SIZE(buffers) != BUFFER_COUNT) {
        PyErr_SetString(PyExc_ValueError, "core: wrong number of dimensions or buffers");
        return -1;
    }
    Core_release(c);
    for (int k = 0; k < DIMENSION_COUNT; k++) {
        c->dim[k] = PyLong_AsSsize_t(PyTuple_GET_ITEM(dims, k));
        if (c->dim[k] == -1 && PyErr_Occurred()) return -1;
        if (c->dim[k] < 0) {
            PyErr_SetString(PyExc_ValueError, "core: negative dimension");
            return -1;
        }
    }
    Py_ssize_t B = c->dim[DIM_B], T = c->dim[DIM_T], H = c->dim[DIM_H], L = c->dim[DIM_L], K = c->dim[DIM_K];
    Py_ssize_t P = c->dim[DIM_SIZE], dense = P - c->dim[DIM_ROW_TABLE_SIZE];
    if (B < 1 || T < 1 || H < 1 || L < 1) {
        PyErr_SetString(PyExc_ValueError, "core: empty network");
        return -1;
    }
    struct {
        Py_ssize_t count, itemsize;
        const char *formats;
    } shapes[BUFFER_COUNT] = {
        {P, 4, FLOAT32_FORMATS}, {P, 4, FLOAT32_FORMATS}, {-1, 4, FLOAT32_FORMATS}, {P, 8, FLOAT64_FORMATS},
        {dense, 8, FLOAT64_FORMATS}, {(T + 1) * B * L * H, 8, FLOAT64_FORMATS}, {L * (T + 1) * B * H, 8, FLOAT64_FORMATS},
        {L * T * B * 4 * H, 8, FLOAT64_FORMATS}, {L * T * B * H, 8, FLOAT64_FORMATS}, {T * B * ALPHABET, 8, FLOAT64_FORMATS},
        {T * B, 8, FLOAT64_FORMATS}, {T * B, 8, INT64_FORMATS}, {T * B, 8, INT64_FORMATS}, {T * B, 8, INT64_FORMATS},
        {T * B, 8, INT64_FORMATS}, {T * B, 8, INT64_FORMATS}, {T * B, 8, INT64_FORMATS},
        {T * B * K * ALPHABET, 4, FLOAT32_FORMATS}, {T * B * K, 8, INT64_FORMATS}, {ALPHABET * K, 8, INT64_FORMATS},
        {65537, 4, INT32_FORMATS}, {40961, 4, INT32_FORMATS},
    };
    for (int k = 0; k < BUFFER_COUNT; k++) {
        PyObject *item = PyTuple_GET_ITEM(buffers, k);
        Py_ssize_t count = shapes[k].count;
        if (k == BUF_ADAM_M) { /* present (P values) or empty */
            Py_ssize_t length = PyObject_Length(item);
            if (length < 0) return -1;
            count = length ? P : 0;
        }
        char what[32];
        snprintf(what, sizeof what, "buffer %d", k);
        if (get_buffer(item, &c->buffers[k], count, shapes[k].itemsize, shapes[k].formats, what, 1) < 0) return -1;
        c->held = k + 1;
    }
    if (allocate_scratch(c) < 0) return -1;
    return 0;
}

static PyMethodDef Core_methods[] = {
    {"predict", (PyCFunction)Core_predict, METH_VARARGS,
     "predict(t, x, expected, bucket, features, confidence, column, word): one forward step into the buffers"},
    {"learn", (PyCFunction)Core_learn, METH_VARARGS, "learn(T, targets, weight, adam, dense_groups, embed_rate, "
                                                     "table_rate): BPTT over the segment and one Adam step"},
    {"use_blas", (PyCFunction)Core_use_blas, METH_O,
     "use_blas(address): matrix products by the ILP64 cblas_dgemm at this address (0: the core's own kernel)"},
    {NULL, NULL, 0, NULL},
};

/* The Python type of struct ``Name`` (a PyObject_HEAD first), made by Name_init, freed by Name_dealloc. */
#define MODULE_TYPE(Name, doc)                                                                                  \
    {                                                                                                           \
        PyVarObject_HEAD_INIT(NULL, 0).tp_name = "lstmzip._core." #Name, .tp_basicsize = sizeof(Name),          \
        .tp_flags = Py_TPFLAGS_DEFAULT, .tp_doc = doc, .tp_new = PyType_GenericNew, .tp_init = (initproc)Name##_init, \
        .tp_dealloc = (destructor)Name##_dealloc, .tp_methods = Name##_methods,                                 \
    }

static PyTypeObject CoreType = MODULE_TYPE(Core, "The compiled per-step core of ByteLSTM on the reference model's buffers");

/* ---------------------------------------------------------------- the whole step (predictor.Predictor) */

#define STEPPER_HELD 40

/* One coding step of predictor.Predictor in two calls, on the arrays of its models (held for the Stepper's
 * life): the side models' predictions go straight into the core's buffers of the step, the map's output
 * into ``probabilities``. The Python models stay the oracle of each part; this only saves the loop's
 * interpreter and each call's arguments (docs/notebook/2026-12-07-one-stream-kernels.md). */
typedef struct {
    PyObject_HEAD
    Core *core;
    Held held[STEPPER_HELD];
    int used; /* how many of ``held`` have been handed out */
    const uint8_t *matrix;
    Py_ssize_t N, S;
    int with_match, with_counts, with_columns, with_map, column_input, word_input, determinism;
    Matching match;
    Counting counting;
    const double *log_counts;
    const int64_t *class_rows;               /* [256] the column context's row at column 0, by byte */
    Py_ssize_t column_slot, word_slot, above_slot; /* rows of ``counting.rows``; -1 where there is none */
    Py_ssize_t word_first_row;
    uint64_t *word_state;
    Lines lines;
    Columns columns;
    Map map;
    float *probabilities; /* [N, 256] */
    uint8_t *actual;      /* [N] scratch: a step's bytes */
    int64_t *map_steps;   /* [16 N] scratch */
} Stepper;

/* The next ``count`` of the Stepper's held buffers, for a part's hold_* function; NULL with an exception past
 * STEPPER_HELD. */
static Held *take_held(Stepper *st, int count) {
    if (st->used + count > STEPPER_HELD) {
        PyErr_SetString(PyExc_ValueError, "stepper: too many arrays");
        return NULL;
    }
    st->used += count;
    return st->held + st->used - count;
}

static void *stepper_hold(Stepper *st, PyObject *obj, Py_ssize_t count, Py_ssize_t itemsize, const char *formats,
                          const char *what, int writable) {
    Held *held = take_held(st, 1);
    return held ? hold(held, obj, count, itemsize, formats, what, writable) : NULL;
}

/* (pointer, length, chains, ((length, table), ...), hash_bits) of match.MatchModel */
static int stepper_match(Stepper *st, PyObject *spec, PyObject *matrix) {
    PyObject *objs[3] = {matrix}, *chains, *tables;
    if (!PyArg_ParseTuple(spec, "OOOO!n", &objs[1], &objs[2], &chains, &PyTuple_Type, &tables, &st->match.hash_bits))
        return -1;
    Held *held = take_held(st, 6);
    return held ? hold_matching(&st->match, held, objs, chains, tables, 1) : -1;
}

/* (counts, totals, history, rows, first_row, direct, masks, salts, keys, count_limit, hash_bits, log_counts,
 * determinism, column_slot, class_rows or None, word_slot, word_first_row, word or None, lines or None) of
 * contexts.ContextModel; lines: (line, line_before, place, places, first_row) */
static int stepper_counts(Stepper *st, PyObject *spec) {
    PyObject *objs[9], *log_counts, *class_rows, *word, *lines;
    Counting *m = &st->counting;
    if (!PyArg_ParseTuple(spec, "OOOOOOOOOnnOpnOnnOO", &objs[0], &objs[1], &objs[2], &objs[3], &objs[4], &objs[5],
                          &objs[6], &objs[7], &objs[8], &m->limit, &m->hash_bits, &log_counts, &st->determinism,
                          &st->column_slot, &class_rows, &st->word_slot, &st->word_first_row, &word, &lines))
        return -1;
    Held *held = take_held(st, 9);
    if (!held || hold_counting(m, held, objs) < 0) return -1;
    if (m->N != st->N || m->all != st->core->dim[DIM_K] || st->column_slot >= m->all || st->word_slot >= m->all ||
        (st->column_slot >= 0) != (class_rows != Py_None) || (st->word_slot >= 0) != (word != Py_None)) {
        PyErr_SetString(PyExc_ValueError, "stepper: the contexts do not fit the streams or the core");
        return -1;
    }
    if (!(st->log_counts = stepper_hold(st, log_counts, ALPHABET, 8, FLOAT64_FORMATS, "log counts", 0))) return -1;
    if (class_rows != Py_None &&
        !(st->class_rows = stepper_hold(st, class_rows, ALPHABET, 8, INT64_FORMATS, "class rows", 0)))
        return -1;
    if (word != Py_None && !(st->word_state = stepper_hold(st, word, st->N, 8, "LQ", "word", 1))) return -1;
    st->above_slot = -1;
    if (lines == Py_None) return 0;
    PyObject *arrays[3];
    if (!PyArg_ParseTuple(lines, "OOOnn", &arrays[0], &arrays[1], &arrays[2], &st->lines.places, &st->lines.first_row))
        return -1;
    st->lines.hash_bits = m->hash_bits;
    st->above_slot = m->all - 1;
    Held *held_lines = take_held(st, 3);
    if (!held_lines || hold_lines(&st->lines, held_lines, arrays) < 0) return -1;
    return st->lines.N == st->N ? 0 : (PyErr_SetString(PyExc_ValueError, "stepper: lines of other streams"), -1);
}

/* (pending, rank, column, word, tail, rank_base, width, restarts, word_widths, (limit, escaped, file_code_width,
 * word_first_rank, word_rows), column_input, word_input) of words.Columns and the config */
static int stepper_columns(Stepper *st, PyObject *spec) {
    PyObject *objs[9];
    Columns *m = &st->columns;
    if (!PyArg_ParseTuple(spec, "OOOOOOOOO(nnnnn)pp", &objs[0], &objs[1], &objs[2], &objs[3], &objs[4], &objs[5],
                          &objs[6], &objs[7], &objs[8], &m->limit, &m->escaped, &m->file_code_width,
                          &m->word_first_rank, &m->word_rows, &st->column_input, &st->word_input))
        return -1;
    Held *held = take_held(st, 9);
    if (!held || hold_columns(m, held, objs) < 0) return -1;
    return m->N == st->N ? 0 : (PyErr_SetString(PyExc_ValueError, "stepper: columns of other streams"), -1);
}

/* (table, position, low, share, updates, rates) of apm.ProbabilityMap, low and share [N, 255] */
static int stepper_map(Stepper *st, PyObject *spec) {
    PyObject *objs[6];
    if (!PyArg_ParseTuple(spec, "OOOOOO", &objs[0], &objs[1], &objs[2], &objs[3], &objs[4], &objs[5])) return -1;
    Held *held = take_held(st, 6);
    return held && hold_map(&st->map, held, objs[0], objs[1], objs[2], objs[3], st->N) == 0 &&
                   hold_rates(&st->map, held + 4, objs[4], objs[5]) == 0
               ? 0
               : -1;
}

static void Stepper_release(Stepper *st) {
    release_all(st->held, st->used);
    st->used = 0;
    Py_CLEAR(st->core);
    free(st->actual);
    free(st->map_steps);
    st->actual = NULL;
    st->map_steps = NULL;
}

static void Stepper_dealloc(Stepper *st) {
    Stepper_release(st);
    Py_TYPE(st)->tp_free((PyObject *)st);
}

/* Stepper(core, matrix [N, S] u8, match or None, counts or None, columns or None, map or None,
 * probabilities [N, 256] f32): each part's arrays as its stepper_* function reads them. */
static int Stepper_init(Stepper *st, PyObject *args, PyObject *kwargs) {
    PyObject *core, *matrix, *match, *counts, *columns, *map, *probabilities;
    if (kwargs && PyDict_Size(kwargs)) {
        PyErr_SetString(PyExc_TypeError, "Stepper takes no keyword arguments");
        return -1;
    }
    if (!PyArg_ParseTuple(args, "O!OOOOOO", &CoreType, &core, &matrix, &match, &counts, &columns, &map, &probabilities))
        return -1;
    Stepper_release(st);
    st->core = (Core *)core;
    Py_INCREF(core);
    st->N = st->core->dim[DIM_B];
    st->with_match = match != Py_None;
    st->with_counts = counts != Py_None;
    st->with_columns = columns != Py_None;
    st->with_map = map != Py_None;
    st->column_slot = st->word_slot = st->above_slot = -1;
    st->column_input = st->word_input = 0;
    if (hold_matrix(take_held(st, 1), matrix, st->N, &st->matrix, &st->S) < 0 ||
        (st->with_match && stepper_match(st, match, matrix) < 0) ||
        (st->with_counts && stepper_counts(st, counts) < 0) || (st->with_columns && stepper_columns(st, columns) < 0) ||
        (st->with_map && stepper_map(st, map) < 0) ||
        !(st->probabilities = stepper_hold(st, probabilities, st->N * ALPHABET, 4, FLOAT32_FORMATS, "probabilities", 1)))
        return -1;
    if (st->column_slot >= 0 && !st->with_columns) {
        PyErr_SetString(PyExc_ValueError, "stepper: a column context without columns");
        return -1;
    }
    st->actual = malloc((size_t)st->N);
    st->map_steps = malloc(sizeof(int64_t) * (size_t)(16 * st->N));
    if (!st->actual || !st->map_steps) {
        PyErr_NoMemory();
        return -1;
    }
    return 0;
}

/* predict(t, position, active): the distributions of step t (the core's step ``position`` of its segment)
 * into probabilities[:active] */
static PyObject *Stepper_predict(Stepper *st, PyObject *args) {
    Py_ssize_t t, at, active;
    if (!PyArg_ParseTuple(args, "nnn", &t, &at, &active)) return NULL;
    Core *c = st->core;
    Py_ssize_t N = st->N, K = c->dim[DIM_K];
    if (t < 0 || t >= st->S || at < 0 || at >= c->dim[DIM_T] || active < 1 || active > N)
        return PyErr_Format(PyExc_IndexError, "stepper: step %zd (%zd of its segment) is out of range", t, at);
    int64_t *x = I64(c, BUF_X) + at * N;
    for (Py_ssize_t s = 0; s < N; s++) x[s] = t ? st->matrix[s * st->S + t - 1] : 0;
    if (st->with_match &&
        match_guess(&st->match, I64(c, BUF_MATCH_EXPECTED) + at * N, I64(c, BUF_MATCH_BUCKET) + at * N) < 0)
        return NULL;
    if (st->with_counts && context_features_into(&st->counting, st->log_counts, F32(c, BUF_CONTEXT_FEATURES) + at * N * K * ALPHABET,
                                                 I64(c, BUF_CONTEXT_INDEX) + at * N * K, st->determinism) < 0)
        return NULL;
    if (st->column_input) memcpy(I64(c, BUF_COLUMN) + at * N, st->columns.column, sizeof(int64_t) * (size_t)N);
    if (st->word_input) memcpy(I64(c, BUF_WORD) + at * N, st->columns.word, sizeof(int64_t) * (size_t)N);
    if (core_forward(c, at, st->with_match, st->with_counts) < 0) return NULL;
    const double *weights = F64(c, BUF_FREQ) + at * N * ALPHABET, *sums = F64(c, BUF_FREQ_SUM) + at * N;
    if (st->with_map) {
        if (apm_refine_rows(&st->map, weights, active, st->probabilities) < 0) return NULL;
    } else /* float64 quotients of exact sums of integers, rounded once to float32 */
        for (Py_ssize_t n = 0; n < active * ALPHABET; n++) st->probabilities[n] = (float)(weights[n] / sums[n / ALPHABET]);
    Py_RETURN_NONE;
}

/* update(t, active): every model learns the bytes of step t (the matrix's column t) */
static PyObject *Stepper_update(Stepper *st, PyObject *args) {
    Py_ssize_t t, active;
    if (!PyArg_ParseTuple(args, "nn", &t, &active)) return NULL;
    Py_ssize_t N = st->N;
    if (t < 0 || t >= st->S || active < 1 || active > N)
        return PyErr_Format(PyExc_IndexError, "stepper: step %zd is out of range", t);
    uint8_t *actual = st->actual;
    for (Py_ssize_t s = 0; s < N; s++) actual[s] = st->matrix[s * st->S + t];
    if (st->with_map && apm_update_rows(&st->map, actual, active, st->map_steps) < 0) return NULL;
    if (st->with_match && match_step(&st->match, t) < 0) return NULL;
    if (!st->with_counts) Py_RETURN_NONE;
    int64_t *rows = st->counting.rows;
    if (count_step(&st->counting, actual, active) < 0) return NULL;
    if (st->with_columns && columns_step(&st->columns, actual) < 0) return NULL;
    if (st->column_slot >= 0)
        for (Py_ssize_t s = 0; s < N; s++)
            rows[st->column_slot * N + s] = st->class_rows[actual[s]] + st->columns.column[s] * BYTE_CLASSES;
    if (st->word_slot >= 0)
        word_rows_into(st->word_state, actual, rows + st->word_slot * N, N, st->word_first_row, st->counting.hash_bits);
    if (st->above_slot >= 0 && above_rows_into(&st->lines, actual, rows + st->above_slot * N) < 0) return NULL;
    Py_RETURN_NONE;
}

static PyMethodDef Stepper_methods[] = {
    {"predict", (PyCFunction)Stepper_predict, METH_VARARGS,
     "predict(t, position, active): step t's distributions into probabilities[:active]"},
    {"update", (PyCFunction)Stepper_update, METH_VARARGS, "update(t, active): every model learns step t's bytes"},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject StepperType = MODULE_TYPE(Stepper, "A coding step of predictor.Predictor in two calls on its models' arrays");

static struct PyModuleDef core_module = {PyModuleDef_HEAD_INIT, "lstmzip._core", "Compiled exact core of lstmzip.",
                                         -1, module_functions, NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__core(void) {
    PyObject *module = PyModule_Create(&core_module);
    if (!module) return NULL;
    if (PyModule_AddType(module, &CoreType) < 0 || PyModule_AddType(module, &StepperType) < 0 ||
        PyModule_AddIntConstant(module, "BUFFER_COUNT", BUFFER_COUNT) < 0 ||
        PyModule_AddIntConstant(module, "DIMENSION_COUNT", DIMENSION_COUNT) < 0) {
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
