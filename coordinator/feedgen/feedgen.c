/* feedgen.c - the synthetic feed generator's plan and per-line context. See feedgen.h for the
 * contract and feedgen_internal.h for how the parts fit together.
 *
 * Every line starts as a valid record of one key, and is then either written as is, written as
 * a duplicate of an earlier key, or given exactly one defect. A record's values are a pure
 * function of (seed, key id, variant): a duplicate that is a plain resend (variant 0) repeats
 * its key's first line byte for byte apart from output_at, a correction (variant != 0) changes
 * the values a sender would change (quantity, price, points, the delete flag). Keys come from a
 * counter through injective mappings (JAN codes, card numbers, store codes, receipts), so new
 * keys never collide and loaded == number of keys issued.
 *
 * Owns the options' defaults, how a table is planned (which entity its key is, which role each
 * column plays) and the context one line's values are computed from (feedgen_prepare). No
 * floating point touches the output: money is integer sen throughout. */
#include "coordinator/feedgen/feedgen_internal.h"

#include <string.h>

#include "core/mem.h"
#include "parse/field.h"

#define NITEMS 5000     /* items that appear in journals */
#define NPOPULAR 300    /* half of all journal lines sell one of these */
#define NMEMBERS 200000 /* member cards that appear in journals */

/* ---- the generator ----------------------------------------------------------------------- */

static const struct {
    const char *name;
    unsigned types;
    enum role role;
    bool consistent; /* part of amount = unit_price * quantity: no boundary values */
} named_roles[] = {
    {"store_code", T_STR, R_STORE_CODE, false},
    {"business_date", T_DATE, R_BUSINESS_DATE, false},
    {"register_no", T_INT, R_REGISTER_NO, false},
    {"receipt_no", T_INT, R_RECEIPT_NO, false},
    {"line_no", T_INT, R_LINE_NO, false},
    {"sold_at", T_DT, R_SOLD_AT, false},
    {"member_id", T_STR, R_MEMBER_ID, false},
    {"item_code", T_STR, R_ITEM_CODE, false},
    {"item_name", T_STR, R_ITEM_NAME, false},
    {"item_name_kana", T_STR, R_ITEM_KANA, false},
    {"category_code", T_STR, R_CATEGORY, false},
    {"quantity", T_INT, R_QUANTITY, true},
    {"unit_price", T_NUM, R_UNIT_PRICE, true},
    {"amount", T_NUM, R_AMOUNT, true},
    {"discount", T_NUM, R_DISCOUNT, true},
    {"tax", T_NUM, R_TAX, true},
    {"tax_rate", T_NUM, R_TAX_RATE, true},
    {"payment_type", T_STR, R_PAYMENT, false},
    {"staff_code", T_STR, R_STAFF, false},
    {"maker_name", T_STR, R_MAKER, false},
    {"sales_start", T_DATE, R_SALES_START, false},
    {"sales_end", T_DATE, R_SALES_END, false},
    {"gender", T_STR, R_GENDER, false},
    {"birth_date", T_DATE, R_BIRTH, false},
    {"postal_code", T_STR, R_POSTAL, false},
    {"home_store_code", T_STR, R_HOME_STORE, false},
    {"joined_on", T_DATE, R_JOINED, false},
    {"withdrawn_on", T_DATE, R_WITHDRAWN, false},
    {"points", T_INT, R_POINTS, false},
    {"store_name", T_STR, R_STORE_NAME, false},
    {"prefecture", T_STR, R_PREFECTURE, false},
    {"opened_on", T_DATE, R_OPENED, false},
    {"closed_on", T_DATE, R_CLOSED, false},
    {"floor_area", T_NUM, R_FLOOR_AREA, false},
};

void feedgen_options_init(struct feedgen_options *o)
{
    memset(o, 0, sizeof(*o));
    o->error_rate = 0.01;
    o->dup_rate = 0.05;
    o->seed = 1;
    o->final_newline = true;
}

static int find_column(const struct schema_table *t, const char *name, unsigned types)
{
    int c = schema_column_index(t, name);

    if (c < 0 || (types & (1u << t->columns[c].type)) == 0) {
        return -1;
    }
    return c;
}

static bool is_key_column(const struct schema_table *t, size_t c)
{
    size_t i;

    for (i = 0; i < t->nkey; i++) {
        if (t->key[i] == c) {
            return true;
        }
    }
    return false;
}

/* The single key column is name, a string of at least min_chars characters. */
static bool single_key(const struct schema_table *t, const char *name, int min_chars)
{
    const struct schema_column *col;

    if (t->nkey != 1) {
        return false;
    }
    col = &t->columns[t->key[0]];
    return strcmp(col->name, name) == 0 && col->type == COL_STRING && col->max_chars >= min_chars;
}

static enum entity detect_entity(const struct schema_table *t, uint64_t rows)
{
    static const struct {
        const char *name;
        unsigned types;
    } receipt[] = {{"store_code", T_STR},
                   {"business_date", T_DATE},
                   {"register_no", T_INT},
                   {"receipt_no", T_INT},
                   {"line_no", T_INT}};
    size_t i;
    int c;
    bool is_receipt = t->nkey == 5;

    for (i = 0; is_receipt && i < 5; i++) {
        c = find_column(t, receipt[i].name, receipt[i].types);
        is_receipt = c >= 0 && is_key_column(t, (size_t)c);
    }
    if (is_receipt && t->columns[schema_column_index(t, "store_code")].max_chars >= 4) {
        return ENT_RECEIPT;
    }
    if (single_key(t, "item_code", 13)) {
        return ENT_ITEM;
    }
    if (single_key(t, "member_id", 16)) {
        return ENT_MEMBER;
    }
    if (single_key(t, "store_code", feedgen_digits_of(rows > 9999 ? rows : 9999))) {
        return ENT_STORE;
    }
    return ENT_GENERIC;
}

/* Can column col hold `rows` distinct values made from a counter? */
static bool can_carry(const struct schema_column *col, uint64_t rows)
{
    switch (col->type) {
    case COL_STRING:
        return col->max_chars >= feedgen_digits_of(rows);
    case COL_INT64:
    case COL_DATETIME:
    case COL_TIMESTAMP:
        return true;
    case COL_NUMERIC:
        return col->precision - col->scale >= feedgen_digits_of(rows);
    case COL_DATE:
        return rows <= 3000000; /* days from 0001-01-01 stay within year 9999 */
    case COL_BOOL:
        return false;
    }
    return false;
}

int feedgen_plan_table(struct gen *g, struct bz_err *err)
{
    const struct schema_table *t = g->t;
    size_t c, i;
    int carrier = -1;

    if (t->order_by >= t->ncolumns || (t->columns[t->order_by].type != COL_DATETIME &&
                                       t->columns[t->order_by].type != COL_TIMESTAMP)) {
        return bz_err_set(err, BZ_E_INVALID_INPUT,
                          "table %s: order_by must be a datetime column to generate feeds",
                          t->name);
    }
    g->entity = detect_entity(t, g->o->rows);
    if (g->entity == ENT_GENERIC) {
        for (i = 0; i < t->nkey && carrier < 0; i++) {
            if (can_carry(&t->columns[t->key[i]], g->o->rows)) {
                carrier = (int)t->key[i];
            }
        }
        if (carrier < 0) {
            return bz_err_set(err, BZ_E_INVALID_INPUT,
                              "table %s: no key column can hold %llu distinct values, so keys "
                              "cannot be generated uniquely",
                              t->name, (unsigned long long)g->o->rows);
        }
    }
    g->plan = xcalloc(t->ncolumns, sizeof(*g->plan));
    for (c = 0; c < t->ncolumns; c++) {
        const struct schema_column *col = &t->columns[c];
        struct col_plan *p = &g->plan[c];
        bool consistent = false;

        p->key = is_key_column(t, c);
        p->nullable = !col->required && !p->key;
        p->role = R_GENERIC;
        if (!feedgen_numeric_usable(col)) {
            if (col->required) {
                return bz_err_set(err, BZ_E_INVALID_INPUT,
                                  "table %s: column %s is %s, which admits no value", t->name,
                                  col->name, col->type_text);
            }
            continue; /* always NULL */
        }
        if (c == t->order_by) {
            p->role = R_ORDER;
        } else if (c == t->is_deleted && col->type == COL_BOOL) {
            p->role = R_IS_DELETED;
        } else if (g->entity == ENT_GENERIC && p->key) {
            p->role = (int)c == carrier ? R_KEY_CARRIER : R_KEY_DERIVED;
        } else {
            for (i = 0; i < sizeof(named_roles) / sizeof(named_roles[0]); i++) {
                if (strcmp(named_roles[i].name, col->name) == 0 &&
                    (named_roles[i].types & (1u << col->type)) != 0) {
                    p->role = named_roles[i].role;
                    consistent = named_roles[i].consistent;
                    break;
                }
            }
            /* receipt parts only mean something with receipt keys */
            if (g->entity != ENT_RECEIPT &&
                (p->role == R_BUSINESS_DATE || p->role == R_REGISTER_NO ||
                 p->role == R_RECEIPT_NO || p->role == R_LINE_NO)) {
                p->role = R_GENERIC;
            }
        }
        p->edge_ok = !p->key && p->role != R_ORDER && p->role != R_IS_DELETED && !consistent &&
                     col->type != COL_BOOL;
    }
    return BZ_OK;
}

void feedgen_build_cycle(struct gen *g)
{
    unsigned k;

    g->ncycle = 0;
    for (k = 0; k < FEEDGEN_KIND_COUNT; k++) {
        if (feedgen_kind_applies(g->t, (enum feedgen_kind)k)) {
            g->cycle[g->ncycle++] = (enum feedgen_kind)k;
        }
    }
}

/* ---- per-line context --------------------------------------------------------------------- */

void feedgen_prepare(struct gen *g, uint64_t k, uint64_t aux, uint64_t variant)
{
    struct line_ctx *c = &g->ctx;
    uint64_t x, v;
    uint32_t q;

    memset(c, 0, sizeof(*c));
    c->k = k;
    c->kseed = feedgen_hash3(g->seed, k, 0x6B6579);
    c->vseed = feedgen_hash3(g->seed ^ 0x76617269616E74ULL, k, variant);
    x = c->kseed;
    v = c->vseed;
    c->item =
        feedgen_sm_chance(&x, 50) ? feedgen_sm_below(&x, NPOPULAR) : feedgen_sm_below(&x, NITEMS);
    c->store = feedgen_sm_below(&x, NSTORES);
    c->has_member = feedgen_sm_chance(&x, 45);
    c->member = feedgen_sm_below(&x, NMEMBERS);
    c->plain = feedgen_sm_chance(&x, 12);
    switch (g->entity) {
    case ENT_RECEIPT: {
        uint64_t seq;
        c->r = aux >> 8;
        c->line_no = (uint32_t)(aux & 0xFF);
        c->store = c->r % NSTORES;
        c->register_no = (uint32_t)(c->r / NSTORES % NREGISTERS) + 1;
        seq = c->r / (NSTORES * NREGISTERS);
        c->business_day = g->day0 + (int64_t)(seq / PER_DAY);
        c->receipt_no = (uint32_t)(seq % PER_DAY) + 1;
        c->sold_at = c->business_day * SECONDS_PER_DAY + 9 * 3600 +
                     (int64_t)(c->receipt_no - 1) * (13 * 3600 / PER_DAY) +
                     (int64_t)(c->line_no - 1) * 4;
        /* who paid and how is a property of the receipt, not of its lines */
        c->rseed = feedgen_hash3(g->seed, c->r, 0x72736565640AULL);
        {
            uint64_t rs = c->rseed;
            c->has_member = feedgen_sm_chance(&rs, 45);
            c->member = feedgen_sm_below(&rs, NMEMBERS);
            c->plain = feedgen_sm_chance(&rs, 12); /* "198" rather than "198.00" on this receipt */
        }
        break;
    }
    case ENT_ITEM:
        c->item = k;
        break;
    case ENT_MEMBER:
        c->member = k;
        c->has_member = true;
        break;
    case ENT_STORE:
        c->store = k;
        break;
    case ENT_GENERIC:
        break;
    }
    feedgen_item_attrs(c->item, &c->ia);
    /* money: quantity and corrections are per variant, list price per item */
    q = feedgen_sm_below(&v, 100);
    if (c->ia.price_sen <= 500) {
        c->qty = 1; /* a carrier bag */
    } else if (q < 2) {
        c->qty = feedgen_sm_chance(&v, 80) ? -1 : -2; /* a return */
    } else if (q < 86) {
        c->qty = 1;
    } else if (q < 95) {
        c->qty = 2;
    } else {
        c->qty = 3 + (int64_t)feedgen_sm_below(&v, 4);
    }
    c->price = c->ia.price_sen;
    if (variant != 0 && g->entity == ENT_ITEM && feedgen_sm_chance(&v, 50)) {
        c->price =
            c->price * (90 + feedgen_sm_below(&v, 21)) / 100 / 100 * 100; /* a price change */
    }
    c->amount = c->price * c->qty;
    c->has_discount = c->qty > 0 && feedgen_sm_chance(&v, 7);
    if (c->has_discount) {
        static const int pct[4] = {10, 20, 30, 50};
        c->discount = c->amount * pct[feedgen_sm_below(&v, 4)] / 100 / 100 * 100;
    }
    c->tax_rate = c->ia.p->reduced ? 8 : 10;
    c->tax = (c->amount - c->discount) * c->tax_rate / 100 / 100 * 100;
    c->deleted = feedgen_sm_chance(&v, variant == 0 ? 2 : 10);
    /* output_at of the key's first line */
    if (g->entity == ENT_RECEIPT) {
        c->order = (c->business_day + 1) * SECONDS_PER_DAY + 5400 + feedgen_sm_below(&x, 3600);
    } else {
        c->order = field_days_from_civil(2026, 11, 24) * SECONDS_PER_DAY + 3 * 3600 +
                   feedgen_sm_below(&x, 3600);
    }
}
