/* feedgen_internal.h - what the parts of the synthetic feed generator share; not a public API.
 *
 * Owns the generator's state (struct gen), the per-line context, the entity attributes, the
 * randomness every part draws from (defined inline below) and the prototypes of the functions
 * one part of coordinator/feedgen/ calls in another:
 *   feedgen_format.c   value formatting (numbers, money, dates) and UTF-8 slot helpers
 *   feedgen_world.c    the entity universe (items, stores, members) and their codes
 *   feedgen.c          planning a table (entity, column roles) and the per-line context
 *   feedgen_values.c   column values of valid records and accepted boundary values
 *   feedgen_defects.c  the defect kinds and how each is planted in a record
 *   feedgen_lines.c    keys, lines, output, expect lines and feedgen_write()
 * Every function here borrows its arguments and takes ownership of nothing. Thread: a struct
 * gen belongs to one feedgen_write() call, and nothing else is shared. */
#ifndef BZ_FEEDGEN_INTERNAL_H
#define BZ_FEEDGEN_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "coordinator/feedgen/feedgen.h"
#include "core/buf.h"
#include "schema/schema.h"

#define PPB 1000000000u
#define RING 100 /* near duplicates repeat one of the keys of the last RING valid lines */

/* The entity universe shared by all files. */
#define UNIVERSE 0x1D905EEDC0FFEEULL
#define NSTORES 24   /* stores that appear in journals: codes 0001..0024 */
#define NREGISTERS 4 /* registers per store */
#define PER_DAY 800  /* receipts per register per business day */
#define SECONDS_PER_DAY 86400

/* Column types as bit sets, for the kinds and role tables. */
#define T_INT (1u << COL_INT64)
#define T_NUM (1u << COL_NUMERIC)
#define T_BOOL (1u << COL_BOOL)
#define T_DATE (1u << COL_DATE)
#define T_DT ((1u << COL_DATETIME) | (1u << COL_TIMESTAMP))
#define T_STR (1u << COL_STRING)
#define T_ANY (T_INT | T_NUM | T_BOOL | T_DATE | T_DT | T_STR)

/* ---- randomness: xoshiro256** for the line stream, splitmix64 for derived values -------- */

/* These are defined here, inline, because they are the generator's hot path: a record draws
 * from them for nearly every field, and hash3 of a constant folds at compile time. Calling
 * them across files made `bizoope gen` about 25% slower. */

struct xoshiro {
    uint64_t s[4];
};

/* The splitmix64 finaliser: a bijective mix of one word. */
static inline uint64_t feedgen_mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* splitmix64: a one-word generator, good for short derived sequences; advances *x. */
static inline uint64_t feedgen_sm_next(uint64_t *x)
{
    *x += 0x9E3779B97F4A7C15ULL;
    return feedgen_mix64(*x);
}

/* A well-mixed hash of three words, the seed of every derived sequence. */
static inline uint64_t feedgen_hash3(uint64_t a, uint64_t b, uint64_t c)
{
    return feedgen_mix64(a ^ feedgen_mix64(b + 0x632BE59BD9B4E019ULL) ^
                         feedgen_mix64(feedgen_mix64(c) + 0x8CB92BA72F3D8DD7ULL));
}

/* x rotated left by k bits (0 < k < 64). */
static inline uint64_t feedgen_rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

/* Seeds the line stream r from seed. */
static inline void feedgen_xo_seed(struct xoshiro *r, uint64_t seed)
{
    uint64_t x = seed;
    int i;

    for (i = 0; i < 4; i++) {
        r->s[i] = feedgen_sm_next(&x);
    }
}

/* The next 64 bits of the line stream r (xoshiro256**). */
static inline uint64_t feedgen_xo_next(struct xoshiro *r)
{
    uint64_t *s = r->s;
    uint64_t result = feedgen_rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;

    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = feedgen_rotl(s[3], 45);
    return result;
}

/* Maps 64 random bits to [0, n) for n <= 2^32 (multiply-shift; integer only). */
static inline uint32_t feedgen_below(uint64_t r, uint64_t n)
{
    return (uint32_t)(((r >> 32) * n) >> 32);
}

/* A draw in [0, n) from the line stream r. */
static inline uint32_t feedgen_xo_below(struct xoshiro *r, uint64_t n)
{
    return feedgen_below(feedgen_xo_next(r), n);
}

/* A draw in [0, n) from the splitmix64 sequence *x. */
static inline uint32_t feedgen_sm_below(uint64_t *x, uint64_t n)
{
    return feedgen_below(feedgen_sm_next(x), n);
}

/* True with probability pct/100, drawn from the splitmix64 sequence *x. */
static inline bool feedgen_sm_chance(uint64_t *x, unsigned pct)
{
    return feedgen_sm_below(x, 100) < pct;
}

/* A rate in [0, 1] as a parts-per-billion threshold. */
static inline uint32_t feedgen_rate_ppb(double rate)
{
    /* Rounding to parts per billion makes one-ulp differences in how a rate was parsed
     * irrelevant: decimal rates with up to 9 digits map to the same threshold everywhere. */
    return (uint32_t)(rate * 1e9 + 0.5);
}

/* ---- formatting and UTF-8 helpers (feedgen_format.c) -------------------------------------- */

struct civil {
    int y, mo, d, h, mi, s;
};

/* Writes v as exactly width digits at p (v < 10^width). Inline for the same reason as the
 * randomness: dates and postal codes are written digit by digit on every line. */
static inline void feedgen_digits_at(char *p, int v, int width)
{
    int i;

    for (i = width - 1; i >= 0; i--) {
        p[i] = (char)('0' + v % 10);
        v /= 10;
    }
}

/* Appends the NUL-terminated string s. */
void feedgen_put_str(struct buf *b, const char *s);
/* Appends v in decimal. */
void feedgen_put_u64(struct buf *b, uint64_t v);
/* Appends v in decimal, with a '-' when negative. */
void feedgen_put_i64(struct buf *b, int64_t v);
/* Appends v zero-padded to at least width digits. */
void feedgen_put_pad(struct buf *b, uint64_t v, int width);
/* The number of decimal digits of v (1 for 0). */
int feedgen_digits_of(uint64_t v);
/* Appends v in units of 10^-scale, e.g. (19800, 2) -> "198.00". */
void feedgen_put_scaled(struct buf *b, int64_t v, int scale);
/* Appends money held in sen at the column's scale, clamped to its precision ("198" if plain). */
void feedgen_put_money(struct buf *b, const struct schema_column *col, int64_t sen, bool plain);
/* Appends t through the layout f, with no range checks (so defects can be planted). */
void feedgen_put_civil(struct buf *b, const struct date_format *f, const struct civil *t);
/* Appends the date `days` since 1970-01-01 through the layout f. */
void feedgen_put_days(struct buf *b, const struct date_format *f, int64_t days);
/* Appends the time `secs` since 1970-01-01 00:00:00 through the layout f. */
void feedgen_put_seconds(struct buf *b, const struct date_format *f, int64_t secs);
/* The parser's shape rule: right length, digits at token positions, literals elsewhere. */
bool feedgen_shape_matches(const char *s, size_t n, const struct date_format *f);
/* True for a UTF-8 continuation byte. */
bool feedgen_is_cont(char c);
/* The number of UTF-8 characters in s[0..n). */
size_t feedgen_count_chars(const char *s, size_t n);
/* Cuts b, from byte from on, to at most max characters. */
void feedgen_clamp_chars(struct buf *b, size_t from, size_t max);
/* Byte offset of a random character boundary in b (0 .. len), chosen by r. */
size_t feedgen_random_boundary(const struct buf *b, uint64_t r);
/* Byte offset where the last character of b starts (0 when empty). */
size_t feedgen_last_char_start(const struct buf *b);
/* Inserts p[0..n) into b at byte pos. */
void feedgen_slot_insert(struct buf *b, size_t pos, const void *p, size_t n);
/* Replaces the contents of b with s. */
void feedgen_slot_set(struct buf *b, const char *s);
/* Appends n characters of the boundary alphabet (1- to 4-byte UTF-8), starting where r says. */
void feedgen_put_alphabet(struct buf *b, size_t n, uint64_t r);

/* ---- the entity universe (feedgen_world.c) ------------------------------------------------ */

struct product {
    const char *name; /* as printed on the receipt: kanji, kana and ASCII mixed */
    const char *kana; /* reading in half-width katakana, as POS masters keep it */
    const char *size;
    uint16_t yen;
    uint8_t reduced; /* food and drink: the reduced 8% rate */
    uint8_t fresh;   /* takes an origin prefix */
    const char *category;
};

struct item_attr {
    const struct product *p;
    int origin; /* index into origins, or -1 */
    bool sized;
    int maker; /* index into makers, or -1 (unknown) */
    int64_t price_sen;
    bool has_kana;
    bool has_category;
    int64_t sales_start, sales_end; /* days since 1970; -1 for none */
};

struct store_attr {
    int chain, area;
    int64_t opened, closed; /* days; -1 for none */
    int64_t floor_tenths;   /* -1 for none */
    bool has_prefecture;
};

struct member_attr {
    int gender;                       /* '1', '2', '9' or 0 for none */
    int64_t birth, joined, withdrawn; /* days; -1 for none */
    char postal[9];
    bool has_postal;
    uint32_t home_store; /* index; NSTORES for none */
    int64_t points;
};

/* The attributes of item idx, the same in every file whatever the seed. */
void feedgen_item_attrs(uint64_t idx, struct item_attr *a);
/* The attributes of store idx, the same in every file whatever the seed. */
void feedgen_store_attrs(uint64_t idx, struct store_attr *a);
/* The attributes of member idx, the same in every file whatever the seed. */
void feedgen_member_attrs(uint64_t idx, struct member_attr *a);
/* Appends the item's name (or its half-width kana reading): origin, product, size. */
void feedgen_put_item_name(struct buf *b, const struct item_attr *a, bool kana);
/* Appends the name of maker index maker (an index an item_attr holds, not -1). */
void feedgen_put_maker(struct buf *b, int maker);
/* Appends the store's name: chain, area and "店". */
void feedgen_put_store_name(struct buf *b, const struct store_attr *a);
/* Appends the prefecture the store's area is in. */
void feedgen_put_prefecture(struct buf *b, const struct store_attr *a);
/* Appends item idx's 13-digit JAN code (injective for idx < 10^10). */
void feedgen_put_jan(struct buf *b, uint64_t idx);
/* Appends member idx's 16-digit card number (injective for idx < 10^14). */
void feedgen_put_card(struct buf *b, uint64_t idx);
/* Appends store idx's code "0001".."9999", then "10000"... (injective). */
void feedgen_put_store_code(struct buf *b, uint64_t idx);

/* ---- the generator (feedgen.c) ------------------------------------------------------------ */

enum entity {
    ENT_GENERIC = 0, /* one key column carries the counter, others are derived from it */
    ENT_RECEIPT,     /* journal: store_code, business_date, register_no, receipt_no, line_no */
    ENT_ITEM,        /* key item_code */
    ENT_MEMBER,      /* key member_id */
    ENT_STORE,       /* key store_code */
};

enum role {
    R_GENERIC = 0,
    R_KEY_CARRIER,
    R_KEY_DERIVED,
    R_ORDER,
    R_IS_DELETED,
    R_STORE_CODE,
    R_BUSINESS_DATE,
    R_REGISTER_NO,
    R_RECEIPT_NO,
    R_LINE_NO,
    R_SOLD_AT,
    R_MEMBER_ID,
    R_ITEM_CODE,
    R_ITEM_NAME,
    R_ITEM_KANA,
    R_CATEGORY,
    R_QUANTITY,
    R_UNIT_PRICE,
    R_AMOUNT,
    R_DISCOUNT,
    R_TAX,
    R_TAX_RATE,
    R_PAYMENT,
    R_STAFF,
    R_MAKER,
    R_SALES_START,
    R_SALES_END,
    R_GENDER,
    R_BIRTH,
    R_POSTAL,
    R_HOME_STORE,
    R_JOINED,
    R_WITHDRAWN,
    R_POINTS,
    R_STORE_NAME,
    R_PREFECTURE,
    R_OPENED,
    R_CLOSED,
    R_FLOOR_AREA,
};

struct col_plan {
    enum role role;
    bool key;
    bool nullable; /* optional and not part of the key */
    bool edge_ok;  /* may carry a boundary value in a valid line */
};

/* Everything one line's values are computed from. */
struct line_ctx {
    uint64_t k;
    uint64_t kseed; /* immutable per-key values */
    uint64_t vseed; /* values a correction changes */
    int64_t order;  /* output_at, seconds since 1970 */
    bool deleted;
    /* receipt (journal keys) */
    uint64_t r;
    uint32_t line_no, register_no, receipt_no;
    int64_t business_day;
    int64_t sold_at;
    uint64_t rseed;
    /* references */
    uint64_t item, store, member;
    bool has_member;
    struct item_attr ia;
    /* money, in sen */
    int64_t qty, price, amount, discount, tax;
    bool has_discount, plain;
    int tax_rate;
};

struct gen {
    const struct feedgen_options *o;
    const struct schema_table *t;
    size_t ncols;
    struct col_plan *plan;
    enum entity entity;
    uint64_t seed;
    uint32_t err_ppb, dup_ppb, crlf_ppb;
    struct xoshiro rng;
    struct buf *slots;
    struct buf line;
    /* keys: best (order, line) so far, and the receipt (r << 8 | line_no) of journal keys */
    uint64_t nkeys, keycap;
    int64_t *best_order;
    uint32_t *best_line;
    uint64_t *aux;
    uint64_t next_aux; /* the receipt position the next new key takes */
    int64_t day0;      /* first business day of the journal */
    uint32_t ring[RING];
    size_t ring_n, ring_at;
    uint32_t *line_info; /* per line: key id, or INVALID_BIT | kind; only with expect lines */
    enum feedgen_kind cycle[FEEDGEN_KIND_COUNT];
    size_t ncycle, next_kind;
    struct line_ctx ctx;
    /* output */
    FILE *out;
    struct buf obuf;
    uint64_t bytes;
    int write_errno;
    struct feedgen_expect *exp;
};

/* Detects the table's entity and gives every column its role (g->plan, freed with g). Returns
 * BZ_OK, or BZ_E_INVALID_INPUT for a table whose feed cannot be generated. */
int feedgen_plan_table(struct gen *g, struct bz_err *err);
/* Fills g->cycle with the defect kinds that apply to the table, in kind order. */
void feedgen_build_cycle(struct gen *g);
/* Computes g->ctx for key k at receipt position aux and the given variant (0: first line). */
void feedgen_prepare(struct gen *g, uint64_t k, uint64_t aux, uint64_t variant);

/* ---- values (feedgen_values.c) and defects (feedgen_defects.c) ---------------------------- */

/* Writes every column of the current line's valid record into g->slots. */
void feedgen_gen_record(struct gen *g);
/* Replaces one edge_ok column of the record (if any) with a boundary value that must be
 * accepted, and counts the line in g->exp->edge_lines. */
void feedgen_apply_edge(struct gen *g);
/* A numeric(p,s) column with no digit before the point admits no value at all: false. */
bool feedgen_numeric_usable(const struct schema_column *col);
/* Gives the record in g->slots exactly one defect of kind. A line-level kind sets *join_twice
 * (write the line twice without a newline) and *drop (the column to leave out, SIZE_MAX for
 * none); a field kind leaves both alone. */
void feedgen_plant_defect(struct gen *g, enum feedgen_kind kind, uint64_t lineno, bool *join_twice,
                          size_t *drop);

#endif
