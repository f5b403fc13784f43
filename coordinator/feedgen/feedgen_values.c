/* feedgen_values.c - the values of a valid record: every column of the current line, from
 * its role (realistic values for the standard tables' columns, plain values by type for any
 * other), and the boundary values a valid line may carry (n characters, INT64_MIN, 9999-12-31).
 *
 * Owns how a column's value is drawn: immutable values from the key's seed, correctable ones
 * (quantity, price, points) from the variant's, so a plain resend repeats its key's values. */
#include "coordinator/feedgen/feedgen_internal.h"

#include "parse/field.h"

/* ---- column values ------------------------------------------------------------------------ */

static void gen_generic(struct gen *g, size_t ci, const struct schema_column *col, uint64_t x,
                        struct buf *b)
{
    size_t i, n;

    (void)g;
    (void)ci;
    switch (col->type) {
    case COL_STRING:
        n = 1 + feedgen_sm_below(&x, col->max_chars < 16 ? (uint64_t)col->max_chars : 16);
        for (i = 0; i < n; i++) {
            if (feedgen_sm_chance(&x, 80)) {
                static const char an[] = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789abcdefghijkmnopqrstu";
                buf_append_char(b, an[feedgen_sm_below(&x, sizeof(an) - 1)]);
            } else {
                feedgen_put_alphabet(b, 1, feedgen_sm_next(&x)); /* one random character */
            }
        }
        feedgen_clamp_chars(b, 0, (size_t)col->max_chars);
        break;
    case COL_INT64:
        feedgen_put_i64(b, (int64_t)feedgen_sm_below(&x, 100000));
        break;
    case COL_NUMERIC: {
        int int_digits = col->precision - col->scale < 5 ? col->precision - col->scale : 5;
        int64_t v = (int64_t)feedgen_sm_below(&x, (uint64_t)field_pow10(int_digits)) *
                        field_pow10(col->scale) +
                    (int64_t)feedgen_sm_below(&x, (uint64_t)field_pow10(col->scale));
        feedgen_put_scaled(b, feedgen_sm_chance(&x, 5) ? -v : v, col->scale);
        break;
    }
    case COL_BOOL:
        buf_append_char(b, feedgen_sm_chance(&x, 50) ? '1' : '0');
        break;
    case COL_DATE:
        feedgen_put_days(b, &col->format,
                         field_days_from_civil(2000, 1, 1) + feedgen_sm_below(&x, 9800));
        break;
    case COL_DATETIME:
    case COL_TIMESTAMP:
        feedgen_put_seconds(b, &col->format,
                            field_days_from_civil(2026, 1, 1) * SECONDS_PER_DAY +
                                (int64_t)feedgen_sm_below(&x, 330u * SECONDS_PER_DAY));
        break;
    }
}

static void gen_carrier(const struct gen *g, const struct schema_column *col, struct buf *b)
{
    uint64_t k = g->ctx.k;

    switch (col->type) {
    case COL_STRING:
        if (col->max_chars > feedgen_digits_of(g->o->rows)) {
            buf_append_char(b, 'K');
        }
        feedgen_put_u64(b, k);
        break;
    case COL_INT64:
        feedgen_put_u64(b, k + 1);
        break;
    case COL_NUMERIC:
        feedgen_put_u64(b, k);
        break;
    case COL_DATE:
        feedgen_put_days(b, &col->format, field_days_from_civil(1, 1, 1) + (int64_t)k);
        break;
    case COL_DATETIME:
    case COL_TIMESTAMP:
        feedgen_put_seconds(b, &col->format,
                            field_days_from_civil(2000, 1, 1) * SECONDS_PER_DAY + (int64_t)k);
        break;
    case COL_BOOL:
        break; /* never a carrier */
    }
}

/* What one column's value is computed from, besides the line context. */
struct col_values {
    const struct schema_column *col;
    size_t ci;
    enum role role;
    bool nullable;
    uint64_t x; /* this column's immutable values */
    uint64_t v; /* this column's correctable values */
};

/* String roles: never longer than the column allows. */
static void clamp_string(const struct schema_column *col, struct buf *b)
{
    if (col->type == COL_STRING) {
        feedgen_clamp_chars(b, 0, (size_t)col->max_chars);
    }
}

/* A day that may be unknown (< 0): NULL in a nullable column, else day, or fallback when the
 * column needs a value. */
static void put_maybe_day(struct buf *b, const struct col_values *cv, int64_t day, int64_t fallback)
{
    if (cv->nullable && day < 0) {
        return;
    }
    feedgen_put_days(b, &cv->col->format, day < 0 ? fallback : day);
}

/* Each family below writes the roles it knows into b (nothing for NULL) and returns true, or
 * returns false for a role that is not its own. */

/* The key, output_at, the delete flag, and the receipt: store, day, register, number, line,
 * time of sale, payment and staff. */
static bool receipt_value(struct gen *g, struct col_values *cv, struct buf *b)
{
    const struct schema_column *col = cv->col;
    struct line_ctx *c = &g->ctx;

    switch (cv->role) {
    case R_GENERIC:
        if (cv->nullable && feedgen_sm_chance(&cv->x, 8)) {
            return true;
        }
        gen_generic(g, cv->ci, col, cv->v, b);
        return true;
    case R_KEY_CARRIER:
        gen_carrier(g, col, b);
        return true;
    case R_KEY_DERIVED:
        gen_generic(g, cv->ci, col, cv->x, b);
        return true;
    case R_ORDER:
        feedgen_put_seconds(b, &col->format, c->order);
        return true;
    case R_IS_DELETED:
        buf_append_char(b, c->deleted ? '1' : '0');
        return true;
    case R_STORE_CODE:
        feedgen_put_store_code(b, c->store);
        break;
    case R_BUSINESS_DATE:
        feedgen_put_days(b, &col->format, c->business_day);
        return true;
    case R_REGISTER_NO:
        feedgen_put_u64(b, c->register_no);
        return true;
    case R_RECEIPT_NO:
        feedgen_put_u64(b, c->receipt_no);
        return true;
    case R_LINE_NO:
        feedgen_put_u64(b, c->line_no);
        return true;
    case R_SOLD_AT:
        if (g->entity == ENT_RECEIPT) {
            feedgen_put_seconds(b, &col->format, c->sold_at);
        } else {
            gen_generic(g, cv->ci, col, cv->x, b);
        }
        return true;
    case R_PAYMENT: {
        uint64_t rs = g->entity == ENT_RECEIPT ? c->rseed : cv->x;
        uint32_t pay = feedgen_sm_below(&rs, 100);
        if (cv->nullable && pay < 2) {
            return true;
        }
        feedgen_put_str(b, pay < 57 ? "01" : pay < 82 ? "02" : pay < 94 ? "03" : "04");
        break;
    }
    case R_STAFF: {
        uint64_t s =
            feedgen_hash3(UNIVERSE, c->store * 16 + c->register_no, (uint64_t)c->business_day);
        if (cv->nullable && feedgen_sm_chance(&s, 6)) {
            return true;
        }
        feedgen_put_pad(b, 100000 + feedgen_sm_below(&s, 900000), 6);
        break;
    }
    default:
        return false;
    }
    clamp_string(col, b);
    return true;
}

/* The item sold or described: code, names, category, maker, sales period. */
static bool item_value(struct gen *g, struct col_values *cv, struct buf *b)
{
    const struct schema_column *col = cv->col;
    const struct item_attr *ia = &g->ctx.ia;

    switch (cv->role) {
    case R_ITEM_CODE:
        feedgen_put_jan(b, g->ctx.item);
        break;
    case R_ITEM_NAME:
        if (cv->nullable && feedgen_sm_chance(&cv->x, 2)) {
            return true;
        }
        feedgen_put_item_name(b, ia, false);
        break;
    case R_ITEM_KANA:
        if (cv->nullable && !ia->has_kana) {
            return true;
        }
        feedgen_put_item_name(b, ia, true);
        break;
    case R_CATEGORY:
        if (cv->nullable && !ia->has_category) {
            return true;
        }
        feedgen_put_str(b, ia->p->category);
        break;
    case R_MAKER:
        if (cv->nullable && ia->maker < 0) {
            return true;
        }
        feedgen_put_maker(b, ia->maker < 0 ? 0 : ia->maker);
        break;
    case R_SALES_START:
        put_maybe_day(b, cv, ia->sales_start, field_days_from_civil(2015, 1, 1));
        return true;
    case R_SALES_END:
        put_maybe_day(b, cv, ia->sales_end, field_days_from_civil(2099, 12, 31));
        return true;
    default:
        return false;
    }
    clamp_string(col, b);
    return true;
}

/* Quantity and money: amount = unit_price * quantity, discount, tax and its rate. */
static bool money_value(struct gen *g, struct col_values *cv, struct buf *b)
{
    const struct schema_column *col = cv->col;
    struct line_ctx *c = &g->ctx;

    switch (cv->role) {
    case R_QUANTITY:
        feedgen_put_i64(b, c->qty);
        return true;
    case R_UNIT_PRICE:
        if (cv->nullable && g->entity == ENT_ITEM && feedgen_sm_chance(&cv->x, 4)) {
            return true; /* open price */
        }
        feedgen_put_money(b, col, c->price, c->plain);
        return true;
    case R_AMOUNT:
        feedgen_put_money(b, col, c->amount, c->plain);
        return true;
    case R_DISCOUNT:
        if (cv->nullable && !c->has_discount) {
            return true;
        }
        feedgen_put_money(b, col, c->discount, c->plain);
        return true;
    case R_TAX:
        feedgen_put_money(b, col, c->tax, c->plain);
        return true;
    case R_TAX_RATE:
        feedgen_put_money(b, col, (int64_t)c->tax_rate * 100, false);
        return true;
    default:
        return false;
    }
}

/* The member: card number, gender, birth date, address, home store, membership, points. */
static bool member_value(struct gen *g, struct col_values *cv, struct buf *b)
{
    const struct schema_column *col = cv->col;
    struct line_ctx *c = &g->ctx;
    struct member_attr ma;

    switch (cv->role) {
    case R_MEMBER_ID:
        if (cv->nullable && !c->has_member) {
            return true;
        }
        feedgen_put_card(b, c->member);
        break;
    case R_GENDER:
        feedgen_member_attrs(c->member, &ma);
        if (cv->nullable && ma.gender == 0) {
            return true;
        }
        buf_append_char(b, (char)(ma.gender ? ma.gender : '9'));
        break;
    case R_BIRTH:
        feedgen_member_attrs(c->member, &ma);
        put_maybe_day(b, cv, ma.birth, field_days_from_civil(1980, 1, 1));
        return true;
    case R_POSTAL:
        feedgen_member_attrs(c->member, &ma);
        if (cv->nullable && !ma.has_postal) {
            return true;
        }
        feedgen_put_str(b, ma.postal);
        break;
    case R_HOME_STORE:
        feedgen_member_attrs(c->member, &ma);
        if (cv->nullable && ma.home_store == NSTORES) {
            return true;
        }
        feedgen_put_store_code(b, ma.home_store % NSTORES);
        break;
    case R_JOINED:
        feedgen_member_attrs(c->member, &ma);
        feedgen_put_days(b, &col->format, ma.joined);
        return true;
    case R_WITHDRAWN:
        feedgen_member_attrs(c->member, &ma);
        put_maybe_day(b, cv, ma.withdrawn, ma.joined + 1);
        return true;
    case R_POINTS:
        feedgen_member_attrs(c->member, &ma);
        if (cv->nullable && feedgen_sm_chance(&cv->x, 5)) {
            return true;
        }
        /* points move between resends: they are what a correction usually changes */
        feedgen_put_i64(b, ma.points + (int64_t)feedgen_sm_below(&cv->v, 500));
        return true;
    default:
        return false;
    }
    clamp_string(col, b);
    return true;
}

/* The store: name, prefecture, opening and closing days, floor area. */
static bool store_value(struct gen *g, struct col_values *cv, struct buf *b)
{
    const struct schema_column *col = cv->col;
    struct store_attr sa;

    switch (cv->role) {
    case R_STORE_NAME:
        feedgen_store_attrs(g->ctx.store, &sa);
        feedgen_put_store_name(b, &sa);
        break;
    case R_PREFECTURE:
        feedgen_store_attrs(g->ctx.store, &sa);
        if (cv->nullable && !sa.has_prefecture) {
            return true;
        }
        feedgen_put_prefecture(b, &sa);
        break;
    case R_OPENED:
        feedgen_store_attrs(g->ctx.store, &sa);
        put_maybe_day(b, cv, sa.opened, field_days_from_civil(2000, 4, 1));
        return true;
    case R_CLOSED:
        feedgen_store_attrs(g->ctx.store, &sa);
        put_maybe_day(b, cv, sa.closed, field_days_from_civil(2030, 3, 31));
        return true;
    case R_FLOOR_AREA:
        feedgen_store_attrs(g->ctx.store, &sa);
        if (cv->nullable && sa.floor_tenths < 0) {
            return true;
        }
        /* a correction re-measures the floor */
        feedgen_put_money(b, col,
                          (sa.floor_tenths < 0 ? 10000 : sa.floor_tenths) * 10 +
                              (int64_t)(feedgen_sm_below(&cv->v, 3) * 10),
                          false);
        return true;
    default:
        return false;
    }
    clamp_string(col, b);
    return true;
}

/* Writes column ci of the current line into b (empty for NULL). */
static void gen_column(struct gen *g, size_t ci, struct buf *b)
{
    struct col_values cv;

    cv.col = &g->t->columns[ci];
    cv.ci = ci;
    cv.role = g->plan[ci].role;
    cv.nullable = g->plan[ci].nullable;
    cv.x = feedgen_hash3(g->ctx.kseed, ci, 1);
    cv.v = feedgen_hash3(g->ctx.vseed, ci, 2);
    buf_reset(b);
    if (!feedgen_numeric_usable(cv.col)) {
        return;
    }
    /* the family that knows the role writes the value; direct calls rather than a table of
     * function pointers, so the compiler can inline the families into this hot loop */
    if (!receipt_value(g, &cv, b) && !item_value(g, &cv, b) && !money_value(g, &cv, b) &&
        !member_value(g, &cv, b)) {
        store_value(g, &cv, b);
    }
}

void feedgen_gen_record(struct gen *g)
{
    size_t c;

    for (c = 0; c < g->ncols; c++) {
        gen_column(g, c, &g->slots[c]);
    }
}

/* ---- boundary values that must be accepted ------------------------------------------------ */

void feedgen_apply_edge(struct gen *g)
{
    size_t cand[64], n = 0, c;
    const struct schema_column *col;
    struct buf *b;
    uint32_t pick;
    int int_digits;

    for (c = 0; c < g->ncols && n < 64; c++) {
        if (g->plan[c].edge_ok) {
            cand[n++] = c;
        }
    }
    if (n == 0) {
        return;
    }
    c = cand[feedgen_xo_below(&g->rng, n)];
    col = &g->t->columns[c];
    b = &g->slots[c];
    pick = feedgen_xo_below(&g->rng, 3);
    buf_reset(b);
    switch (col->type) {
    case COL_STRING:
        /* exactly n characters, most of them multi-byte: bytes != characters */
        feedgen_put_alphabet(b, (size_t)col->max_chars, feedgen_xo_next(&g->rng));
        break;
    case COL_INT64:
        feedgen_put_str(b, pick == 0   ? "-9223372036854775808"
                           : pick == 1 ? "9223372036854775807"
                                       : "0");
        break;
    case COL_NUMERIC:
        int_digits = col->precision - col->scale;
        if (pick == 0) {
            buf_append_char(b, '-');
        }
        if (pick == 2) {
            buf_append_char(b, '0'); /* "0" or "0.5": fewer fraction digits than the scale */
            if (col->scale > 0) {
                feedgen_put_str(b, ".5");
            }
        } else {
            for (int i = 0; i < int_digits; i++) {
                buf_append_char(b, '9');
            }
            if (col->scale > 0) {
                buf_append_char(b, '.');
                for (int i = 0; i < col->scale; i++) {
                    buf_append_char(b, '9');
                }
            }
        }
        break;
    case COL_DATE: {
        static const struct civil dates[3] = {
            {2020, 2, 29, 0, 0, 0}, {1, 1, 1, 0, 0, 0}, {9999, 12, 31, 0, 0, 0}};
        feedgen_put_civil(b, &col->format, &dates[pick]);
        break;
    }
    case COL_DATETIME:
    case COL_TIMESTAMP: {
        static const struct civil times[3] = {
            {2020, 2, 29, 23, 59, 59}, {1, 1, 1, 0, 0, 0}, {9999, 12, 31, 23, 59, 59}};
        feedgen_put_civil(b, &col->format, &times[pick]);
        break;
    }
    case COL_BOOL:
        buf_append_char(b, '1');
        break;
    }
    g->exp->edge_lines++;
}
