/* feedgen.c - the synthetic feed generator. See feedgen.h for the contract.
 *
 * Every line starts as a valid record of one key, and is then either written as is, written as
 * a duplicate of an earlier key, or given exactly one defect. A record's values are a pure
 * function of (seed, key id, variant): a duplicate that is a plain resend (variant 0) repeats
 * its key's first line byte for byte apart from output_at, a correction (variant != 0) changes
 * the values a sender would change (quantity, price, points, the delete flag). Keys come from a
 * counter through injective mappings (JAN codes, card numbers, store codes, receipts), so new
 * keys never collide and loaded == number of keys issued.
 *
 * Entities (items, stores, members) are the same in every file whatever the seed: item
 * 4912345678904 has the same name in a journal file and in an items file, and a journal's
 * store codes and member ids exist in stores and members files of enough rows.
 *
 * No floating point touches the output: rates become parts-per-billion thresholds once, and
 * money is integer sen throughout. */
#include "coordinator/feedgen.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/mem.h"
#include "parse/field.h"

#define PPB 1000000000u
#define OUT_FLUSH (1u << 20)
#define RING 100       /* near duplicates repeat one of the keys of the last RING valid lines */
#define EDGE_ONE_IN 64 /* about one valid line in EDGE_ONE_IN carries a boundary value */
#define INVALID_BIT 0x80000000u

/* The entity universe shared by all files. */
#define UNIVERSE 0x1D905EEDC0FFEEULL
#define NSTORES 24      /* stores that appear in journals: codes 0001..0024 */
#define NREGISTERS 4    /* registers per store */
#define PER_DAY 800     /* receipts per register per business day */
#define NITEMS 5000     /* items that appear in journals */
#define NPOPULAR 300    /* half of all journal lines sell one of these */
#define NMEMBERS 200000 /* member cards that appear in journals */
#define SECONDS_PER_DAY 86400

/* ---- kinds ------------------------------------------------------------------------------- */

#define T_INT (1u << COL_INT64)
#define T_NUM (1u << COL_NUMERIC)
#define T_BOOL (1u << COL_BOOL)
#define T_DATE (1u << COL_DATE)
#define T_DT ((1u << COL_DATETIME) | (1u << COL_TIMESTAMP))
#define T_STR (1u << COL_STRING)
#define T_ANY (T_INT | T_NUM | T_BOOL | T_DATE | T_DT | T_STR)
#define K_LINE 0x100u     /* a line-level defect: no column */
#define K_REQUIRED 0x200u /* only required columns */
#define K_TWO_COLS 0x400u /* the table needs at least two columns */

static const struct {
    const char *name;
    unsigned where;
} kinds[FEEDGEN_KIND_COUNT] = {
    [FEEDGEN_EMPTY_LINE] = {"empty_line", K_LINE},
    [FEEDGEN_TOO_FEW_COLUMNS] = {"too_few_columns", K_LINE | K_TWO_COLS},
    [FEEDGEN_TOO_MANY_COLUMNS] = {"too_many_columns", K_LINE},
    [FEEDGEN_TRAILING_TAB] = {"trailing_tab", K_LINE},
    [FEEDGEN_NUL_BYTE] = {"nul_byte", T_ANY},
    [FEEDGEN_CONTROL_ESC] = {"control_esc", T_ANY},
    [FEEDGEN_CONTROL_DEL] = {"control_del", T_ANY},
    [FEEDGEN_CR_IN_LINE] = {"cr_in_line", T_ANY},
    [FEEDGEN_UTF8_BAD_CONTINUATION] = {"utf8_bad_continuation", T_ANY},
    [FEEDGEN_UTF8_OVERLONG] = {"utf8_overlong", T_ANY},
    [FEEDGEN_UTF8_SURROGATE] = {"utf8_surrogate", T_ANY},
    [FEEDGEN_UTF8_TRUNCATED] = {"utf8_truncated", T_ANY},
    [FEEDGEN_UTF8_SHIFT_JIS] = {"utf8_shift_jis", T_STR},
    [FEEDGEN_BOM_IN_FIELD] = {"bom_in_field", T_ANY},
    [FEEDGEN_STRING_TOO_LONG] = {"string_too_long", T_STR},
    [FEEDGEN_REQUIRED_MISSING] = {"required_missing", T_ANY | K_REQUIRED},
    [FEEDGEN_INT_PLUS] = {"int_plus", T_INT},
    [FEEDGEN_INT_SPACE] = {"int_space", T_INT},
    [FEEDGEN_INT_EXPONENT] = {"int_exponent", T_INT},
    [FEEDGEN_INT_LEADING_ZERO] = {"int_leading_zero", T_INT},
    [FEEDGEN_INT_THOUSANDS] = {"int_thousands", T_INT},
    [FEEDGEN_INT_FULLWIDTH] = {"int_fullwidth", T_INT},
    [FEEDGEN_INT_DECIMAL] = {"int_decimal", T_INT},
    [FEEDGEN_INT_OVERFLOW] = {"int_overflow", T_INT},
    [FEEDGEN_NUM_SCALE] = {"numeric_scale", T_NUM},
    [FEEDGEN_NUM_PRECISION] = {"numeric_precision", T_NUM},
    [FEEDGEN_NUM_TRAILING_POINT] = {"numeric_trailing_point", T_NUM},
    [FEEDGEN_NUM_LEADING_POINT] = {"numeric_leading_point", T_NUM},
    [FEEDGEN_NUM_GARBAGE] = {"numeric_garbage", T_NUM},
    [FEEDGEN_NUM_THOUSANDS] = {"numeric_thousands", T_NUM},
    [FEEDGEN_BOOL_2] = {"bool_2", T_BOOL},
    [FEEDGEN_BOOL_WORD] = {"bool_word", T_BOOL},
    [FEEDGEN_DATE_FEB30] = {"date_feb30", T_DATE | T_DT},
    [FEEDGEN_DATE_FEB29_NONLEAP] = {"date_feb29_nonleap", T_DATE | T_DT},
    [FEEDGEN_DATE_MONTH13] = {"date_month13", T_DATE | T_DT},
    [FEEDGEN_DATE_YEAR0] = {"date_year0", T_DATE | T_DT},
    [FEEDGEN_DATE_WRONG_FORMAT] = {"date_wrong_format", T_DATE},
    [FEEDGEN_TIME_HOUR24] = {"time_hour24", T_DT},
    [FEEDGEN_TIME_MINUTE60] = {"time_minute60", T_DT},
    [FEEDGEN_TIME_SECOND60] = {"time_second60", T_DT},
    [FEEDGEN_DATETIME_ISO] = {"datetime_iso", T_DT},
    [FEEDGEN_DATETIME_WRONG_LENGTH] = {"datetime_wrong_length", T_DT},
};

const char *feedgen_kind_name(enum feedgen_kind kind)
{
    if ((unsigned)kind >= FEEDGEN_KIND_COUNT) {
        return "unknown";
    }
    return kinds[kind].name;
}

enum feedgen_kind feedgen_kind_from_name(const char *name)
{
    unsigned k;

    for (k = 0; k < FEEDGEN_KIND_COUNT; k++) {
        if (strcmp(kinds[k].name, name) == 0) {
            return (enum feedgen_kind)k;
        }
    }
    return FEEDGEN_KIND_COUNT;
}

/* A numeric(p,s) column with no digit before the point admits no value at all. */
static bool numeric_usable(const struct schema_column *col)
{
    return col->type != COL_NUMERIC || col->precision - col->scale >= 1;
}

static bool kind_fits_column(enum feedgen_kind kind, const struct schema_column *col)
{
    unsigned where = kinds[kind].where;

    if ((where & (1u << col->type)) == 0) {
        return false;
    }
    if ((where & K_REQUIRED) && !col->required) {
        return false;
    }
    /* numeric kinds need a column where "1" is valid, so only the planted defect is wrong */
    if (where == T_NUM && !numeric_usable(col)) {
        return false;
    }
    return true;
}

bool feedgen_kind_applies(const struct schema_table *table, enum feedgen_kind kind)
{
    size_t c;

    if ((unsigned)kind >= FEEDGEN_KIND_COUNT) {
        return false;
    }
    if (kinds[kind].where & K_LINE) {
        return !(kinds[kind].where & K_TWO_COLS) || table->ncolumns >= 2;
    }
    for (c = 0; c < table->ncolumns; c++) {
        if (kind_fits_column(kind, &table->columns[c])) {
            return true;
        }
    }
    return false;
}

/* ---- randomness: xoshiro256** for the line stream, splitmix64 for derived values -------- */

struct xoshiro {
    uint64_t s[4];
};

static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* splitmix64: a one-word generator, good for short derived sequences. */
static uint64_t sm_next(uint64_t *x)
{
    *x += 0x9E3779B97F4A7C15ULL;
    return mix64(*x);
}

static uint64_t hash3(uint64_t a, uint64_t b, uint64_t c)
{
    return mix64(a ^ mix64(b + 0x632BE59BD9B4E019ULL) ^ mix64(mix64(c) + 0x8CB92BA72F3D8DD7ULL));
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static void xo_seed(struct xoshiro *r, uint64_t seed)
{
    uint64_t x = seed;
    int i;

    for (i = 0; i < 4; i++) {
        r->s[i] = sm_next(&x);
    }
}

static uint64_t xo_next(struct xoshiro *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;

    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

/* Maps 64 random bits to [0, n) for n <= 2^32 (multiply-shift; integer only). */
static uint32_t below(uint64_t r, uint64_t n)
{
    return (uint32_t)(((r >> 32) * n) >> 32);
}

static uint32_t xo_below(struct xoshiro *r, uint64_t n)
{
    return below(xo_next(r), n);
}

static uint32_t sm_below(uint64_t *x, uint64_t n)
{
    return below(sm_next(x), n);
}

/* True with probability pct/100. */
static bool sm_chance(uint64_t *x, unsigned pct)
{
    return sm_below(x, 100) < pct;
}

static uint32_t rate_ppb(double rate)
{
    /* Rounding to parts per billion makes one-ulp differences in how a rate was parsed
     * irrelevant: decimal rates with up to 9 digits map to the same threshold everywhere. */
    return (uint32_t)(rate * 1e9 + 0.5);
}

/* Writes v as exactly width digits at p (v < 10^width). */
static void digits_at(char *p, int v, int width)
{
    int i;

    for (i = width - 1; i >= 0; i--) {
        p[i] = (char)('0' + v % 10);
        v /= 10;
    }
}

/* ---- the entity universe ----------------------------------------------------------------- */

struct product {
    const char *name; /* as printed on the receipt: kanji, kana and ASCII mixed */
    const char *kana; /* reading in half-width katakana, as POS masters keep it */
    const char *size;
    uint16_t yen;
    uint8_t reduced; /* food and drink: the reduced 8% rate */
    uint8_t fresh;   /* takes an origin prefix */
    const char *category;
};

static const struct product products[] = {
    {"牛乳", "ｷﾞｭｳﾆｭｳ", "1000ml", 238, 1, 1, "0101"},
    {"低脂肪乳", "ﾃｲｼﾎﾞｳﾆｭｳ", "1000ml", 198, 1, 1, "0101"},
    {"ヨーグルト", "ﾖｰｸﾞﾙﾄ", "400g", 158, 1, 1, "0102"},
    {"絹豆腐", "ｷﾇﾄﾞｳﾌ", "300g", 88, 1, 1, "0103"},
    {"納豆", "ﾅｯﾄｳ", "3P", 98, 1, 1, "0103"},
    {"卵", "ﾀﾏｺﾞ", "10個入", 258, 1, 1, "0104"},
    {"食パン", "ｼｮｸﾊﾟﾝ", "6枚切", 168, 1, 0, "0201"},
    {"若鶏もも肉", "ﾜｶﾄﾞﾘﾓﾓﾆｸ", "300g", 398, 1, 1, "0301"},
    {"豚ばら肉", "ﾌﾞﾀﾊﾞﾗﾆｸ", "200g", 498, 1, 1, "0301"},
    {"牛切り落とし", "ｷﾞｭｳｷﾘｵﾄｼ", "250g", 698, 1, 1, "0301"},
    {"紅鮭切身", "ﾍﾞﾆｻｹｷﾘﾐ", "2切", 298, 1, 1, "0302"},
    {"キャベツ", "ｷｬﾍﾞﾂ", "1玉", 158, 1, 1, "0401"},
    {"玉ねぎ", "ﾀﾏﾈｷﾞ", "3個", 198, 1, 1, "0401"},
    {"バナナ", "ﾊﾞﾅﾅ", "", 178, 1, 0, "0402"},
    {"りんご", "ﾘﾝｺﾞ", "", 128, 1, 1, "0402"},
    {"緑茶", "ﾘｮｸﾁｬ", "500ml", 128, 1, 0, "0501"},
    {"コーラ", "ｺｰﾗ", "500ml", 148, 1, 0, "0501"},
    {"天然水", "ﾃﾝﾈﾝｽｲ", "2L", 98, 1, 0, "0501"},
    {"缶コーヒー", "ｶﾝｺｰﾋｰ", "185g", 118, 1, 0, "0501"},
    {"ＰＢ　カフェラテ", "ﾋﾟｰﾋﾞｰ ｶﾌｪﾗﾃ", "240ml", 138, 1, 0, "0501"},
    {"Caffè Latte", "ｶﾌｪﾗﾃ", "", 198, 1, 0, "0501"},
    {"ﾊｰﾌﾞﾃｨｰ", "ﾊｰﾌﾞﾃｨｰ", "20P", 298, 1, 0, "0501"},
    {"ビール", "ﾋﾞｰﾙ", "350ml", 228, 0, 0, "0502"},
    {"日本酒 純米", "ﾆﾎﾝｼｭ ｼﾞｭﾝﾏｲ", "720ml", 1280, 0, 0, "0502"},
    {"カップ麺 シーフード", "ｶｯﾌﾟﾒﾝ ｼｰﾌｰﾄﾞ", "", 198, 1, 0, "0601"},
    {"即席みそ汁", "ｿｸｾｷﾐｿｼﾙ", "10食", 298, 1, 0, "0601"},
    {"ポテトチップス うすしお", "ﾎﾟﾃﾄﾁｯﾌﾟｽ ｳｽｼｵ", "60g", 148, 1, 0, "0602"},
    {"チョコレート", "ﾁｮｺﾚｰﾄ", "", 198, 1, 0, "0602"},
    {"おにぎり 鮭", "ｵﾆｷﾞﾘ ｼｬｹ", "", 150, 1, 0, "0701"},
    {"幕の内弁当", "ﾏｸﾉｳﾁﾍﾞﾝﾄｳ", "", 498, 1, 0, "0701"},
    {"𠮷野家 牛丼の具", "ﾖｼﾉﾔ ｷﾞｭｳﾄﾞﾝﾉｸﾞ", "135g", 398, 1, 0, "0702"},
    {"醤油", "ｼｮｳﾕ", "1L", 298, 1, 0, "0801"},
    {"マヨネーズ", "ﾏﾖﾈｰｽﾞ", "450g", 248, 1, 0, "0801"},
    {"米 コシヒカリ", "ｺﾒ ｺｼﾋｶﾘ", "5kg", 2480, 1, 1, "0802"},
    {"ティッシュペーパー", "ﾃｨｯｼｭﾍﾟｰﾊﾟｰ", "5箱", 398, 0, 0, "0901"},
    {"トイレットペーパー", "ﾄｲﾚｯﾄﾍﾟｰﾊﾟｰ", "12ﾛｰﾙ", 498, 0, 0, "0901"},
    {"食器用洗剤", "ｼｮｯｷﾖｳｾﾝｻﾞｲ", "600ml", 198, 0, 0, "0902"},
    {"歯ブラシ", "ﾊﾌﾞﾗｼ", "", 158, 0, 0, "0903"},
    {"単三電池", "ﾀﾝｻﾝﾃﾞﾝﾁ", "4本", 398, 0, 0, "0904"},
    {"レジ袋 L", "ﾚｼﾞﾌﾞｸﾛ L", "", 3, 0, 0, "0999"},
};
#define NPRODUCTS (sizeof(products) / sizeof(products[0]))

static const struct {
    const char *name, *kana;
} origins[] = {
    {"北海道産", "ﾎｯｶｲﾄﾞｳｻﾝ"}, {"国産", "ｺｸｻﾝ"}, {"有機", "ﾕｳｷ"},           {"特選", "ﾄｸｾﾝ"},
    {"九州産", "ｷｭｳｼｭｳｻﾝ"},    {"十勝", "ﾄｶﾁ"},  {"静岡県産", "ｼｽﾞｵｶｹﾝｻﾝ"}, {"お徳用", "ｵﾄｸﾖｳ"},
};
#define NORIGINS (sizeof(origins) / sizeof(origins[0]))

static const char *const makers[] = {
    "明治",
    "森永乳業",
    "雪印メグミルク",
    "日清食品",
    "サントリー食品インターナショナル",
    "キリンビバレッジ",
    "アサヒ飲料",
    "花王",
    "ライオン",
    "山崎製パン",
    "カルビー",
    "味の素",
    "キッコーマン",
    "ハウス食品",
    "𠮷野家ホールディングス",
    "ロッテ",
    "Ｐ＆Ｇジャパン",
    "ネスレ日本",
    "Nestlé Japan",
    "ＪＡ全農",
};
#define NMAKERS (sizeof(makers) / sizeof(makers[0]))

static const char *const prefectures[47] = {
    "北海道", "青森県", "岩手県", "宮城県", "秋田県", "山形県",   "福島県", "茨城県",
    "栃木県", "群馬県", "埼玉県", "千葉県", "東京都", "神奈川県", "新潟県", "富山県",
    "石川県", "福井県", "山梨県", "長野県", "岐阜県", "静岡県",   "愛知県", "三重県",
    "滋賀県", "京都府", "大阪府", "兵庫県", "奈良県", "和歌山県", "鳥取県", "島根県",
    "岡山県", "広島県", "山口県", "徳島県", "香川県", "愛媛県",   "高知県", "福岡県",
    "佐賀県", "長崎県", "熊本県", "大分県", "宮崎県", "鹿児島県", "沖縄県",
};

static const char *const chains[] = {
    "フレッシュマート", "スーパーやまと",   "まるいち食品館", "ＦＯＯＤＳ ＭＡＲＫＥＴ",
    "グリーンストア",   "生鮮市場ハナマル", "Maison Café",
};
#define NCHAINS (sizeof(chains) / sizeof(chains[0]))

static const struct {
    const char *name;
    int prefecture;
} areas[] = {
    {"札幌駅前", 0},      {"旭川永山", 0},      {"盛岡中央", 2},    {"仙台一番町", 3},
    {"新宿西口", 12},     {"吉祥寺", 12},       {"横浜港北", 13},   {"川崎大師", 13},
    {"岐阜柳津", 20},     {"名古屋栄", 22},     {"京都四条", 25},   {"梅田", 26},
    {"神戸三宮", 27},     {"和歌山駅前", 29},   {"広島八丁堀", 33}, {"博多", 39},
    {"鹿児島天文館", 45}, {"那覇国際通り", 46},
};
#define NAREAS (sizeof(areas) / sizeof(areas[0]))

/* Characters for boundary-length and too-long strings: 1- to 4-byte UTF-8, never TAB, CR,
 * LF, a control character or U+FEFF. */
static const char *const alphabet[] = {
    "北", "海", "道", "産", "牛", "乳", "ｷ", "ﾞ", "ｭ",  "ｳ",  "𠮷", "野", "家", "あ",
    "い", "う", "Ａ", "Ｂ", "é",  "A",  "1", " ", "ー", "・", "（", "）", "円", "😀",
};
#define NALPHABET (sizeof(alphabet) / sizeof(alphabet[0]))

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

static void item_attrs(uint64_t idx, struct item_attr *a)
{
    uint64_t x = hash3(UNIVERSE, 'I', idx);

    a->p = &products[sm_below(&x, NPRODUCTS)];
    a->origin = a->p->fresh && sm_chance(&x, 40) ? (int)sm_below(&x, NORIGINS) : -1;
    a->sized = a->p->size[0] != '\0' && sm_chance(&x, 80);
    a->maker = sm_chance(&x, 88) ? (int)sm_below(&x, NMAKERS) : -1;
    /* list price varies a little between items of the same product: 0..+30% in whole yen */
    a->price_sen = ((int64_t)a->p->yen * (100 + sm_below(&x, 31)) / 100) * 100;
    a->has_kana = sm_chance(&x, 92);
    a->has_category = sm_chance(&x, 97);
    a->sales_start =
        sm_chance(&x, 75) ? field_days_from_civil(2015, 1, 1) + (int64_t)sm_below(&x, 4300) : -1;
    a->sales_end =
        a->sales_start >= 0 && sm_chance(&x, 8) ? a->sales_start + 30 + sm_below(&x, 700) : -1;
}

struct store_attr {
    int chain, area;
    int64_t opened, closed; /* days; -1 for none */
    int64_t floor_tenths;   /* -1 for none */
    bool has_prefecture;
};

static void store_attrs(uint64_t idx, struct store_attr *a)
{
    uint64_t x = hash3(UNIVERSE, 'S', idx);

    a->chain = (int)sm_below(&x, NCHAINS);
    a->area = (int)sm_below(&x, NAREAS);
    a->opened =
        sm_chance(&x, 95) ? field_days_from_civil(1975, 4, 1) + (int64_t)sm_below(&x, 18000) : -1;
    a->closed = a->opened >= 0 && sm_chance(&x, 5) ? a->opened + 365 + sm_below(&x, 3000) : -1;
    a->floor_tenths = sm_chance(&x, 92) ? 3000 + (int64_t)sm_below(&x, 90000) : -1;
    a->has_prefecture = sm_chance(&x, 97);
}

struct member_attr {
    int gender;                       /* '1', '2', '9' or 0 for none */
    int64_t birth, joined, withdrawn; /* days; -1 for none */
    char postal[9];
    bool has_postal;
    uint32_t home_store; /* index; NSTORES for none */
    int64_t points;
};

static void member_attrs(uint64_t idx, struct member_attr *a)
{
    uint64_t x = hash3(UNIVERSE, 'M', idx);
    uint32_t g = sm_below(&x, 100), area, town;
    bool hyphen;

    a->gender = g < 46 ? '1' : g < 92 ? '2' : g < 96 ? '9' : 0;
    a->birth =
        sm_chance(&x, 88) ? field_days_from_civil(1935, 1, 1) + (int64_t)sm_below(&x, 26500) : -1;
    a->joined = field_days_from_civil(2005, 4, 1) + (int64_t)sm_below(&x, 7900);
    a->withdrawn = sm_chance(&x, 3) ? a->joined + 1 + sm_below(&x, 1500) : -1;
    area = sm_below(&x, 1000);
    town = sm_below(&x, 10000);
    hyphen = sm_chance(&x, 80); /* "060-0806", or "0600806" as some systems store it */
    memset(a->postal, 0, sizeof(a->postal));
    digits_at(a->postal, (int)area, 3);
    if (hyphen) {
        a->postal[3] = '-';
    }
    digits_at(a->postal + (hyphen ? 4 : 3), (int)town, 4);
    a->has_postal = sm_chance(&x, 90);
    a->home_store = sm_chance(&x, 95) ? sm_below(&x, NSTORES) : NSTORES;
    a->points = (int64_t)sm_below(&x, 30000);
}

/* ---- formatting ---------------------------------------------------------------------------- */

static void put_str(struct buf *b, const char *s)
{
    buf_append(b, s, strlen(s));
}

static void put_u64(struct buf *b, uint64_t v)
{
    char tmp[24];
    size_t n = 0;

    do {
        tmp[sizeof(tmp) - 1 - n] = (char)('0' + v % 10);
        v /= 10;
        n++;
    } while (v != 0);
    buf_append(b, tmp + sizeof(tmp) - n, n);
}

static void put_i64(struct buf *b, int64_t v)
{
    if (v < 0) {
        buf_append_char(b, '-');
        put_u64(b, (uint64_t)0 - (uint64_t)v);
    } else {
        put_u64(b, (uint64_t)v);
    }
}

/* v zero-padded to at least width digits. */
static void put_pad(struct buf *b, uint64_t v, int width)
{
    char tmp[24];
    int n = 0;

    do {
        tmp[sizeof(tmp) - 1 - n] = (char)('0' + v % 10);
        v /= 10;
        n++;
    } while (v != 0 || n < width);
    buf_append(b, tmp + sizeof(tmp) - n, (size_t)n);
}

static int digits_of(uint64_t v)
{
    int n = 1;

    while (v >= 10) {
        v /= 10;
        n++;
    }
    return n;
}

/* v in units of 10^-scale, e.g. (19800, 2) -> "198.00". */
static void put_scaled(struct buf *b, int64_t v, int scale)
{
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;

    if (v < 0) {
        buf_append_char(b, '-');
    }
    put_u64(b, u / (uint64_t)field_pow10(scale));
    if (scale > 0) {
        buf_append_char(b, '.');
        put_pad(b, u % (uint64_t)field_pow10(scale), scale);
    }
}

/* Money held in sen, written at the column's scale (truncating), clamped to its precision.
 * plain: leave out an all-zero fraction ("198" instead of "198.00"), as some senders do. */
static void put_money(struct buf *b, const struct schema_column *col, int64_t sen, bool plain)
{
    int64_t v = sen, max;
    int s = col->scale;

    if (s >= 2) {
        v = sen * field_pow10(s - 2);
    } else {
        v = sen / field_pow10(2 - s);
    }
    max = field_pow10(col->precision) - 1;
    if (v > max) {
        v = max;
    } else if (v < -max) {
        v = -max;
    }
    if (plain && s > 0 && v % field_pow10(s) == 0) {
        put_i64(b, v / field_pow10(s));
        return;
    }
    put_scaled(b, v, s);
}

struct civil {
    int y, mo, d, h, mi, s;
};

/* Writes t through the column's layout; no range checks, so defects can be planted. */
static void put_civil(struct buf *b, const struct date_format *f, const struct civil *t)
{
    char *p;
    size_t i;

    buf_reserve(b, f->len);
    p = b->data + b->len;
    for (i = 0; i < f->len; i++) {
        p[i] = f->literal[i];
    }
    digits_at(p + f->year, t->y, 4);
    digits_at(p + f->month, t->mo, 2);
    digits_at(p + f->day, t->d, 2);
    if (f->hour >= 0) {
        digits_at(p + f->hour, t->h, 2);
        digits_at(p + f->minute, t->mi, 2);
        digits_at(p + f->second, t->s, 2);
    }
    b->len += f->len;
    b->data[b->len] = '\0';
}

static void civil_from_seconds(int64_t secs, struct civil *t)
{
    int64_t days = secs / SECONDS_PER_DAY, rest;

    if (secs % SECONDS_PER_DAY < 0) {
        days--; /* floor division: times before 1970 */
    }
    rest = secs - days * SECONDS_PER_DAY;

    field_civil_from_days(days, &t->y, &t->mo, &t->d);
    t->h = (int)(rest / 3600);
    t->mi = (int)(rest / 60 % 60);
    t->s = (int)(rest % 60);
}

static void put_days(struct buf *b, const struct date_format *f, int64_t days)
{
    struct civil t;

    civil_from_seconds(days * SECONDS_PER_DAY, &t);
    put_civil(b, f, &t);
}

static void put_seconds(struct buf *b, const struct date_format *f, int64_t secs)
{
    struct civil t;

    civil_from_seconds(secs, &t);
    put_civil(b, f, &t);
}

/* The parser's shape rule: right length, digits at token positions, literals elsewhere. */
static bool shape_matches(const char *s, size_t n, const struct date_format *f)
{
    size_t i;

    if (n != f->len) {
        return false;
    }
    for (i = 0; i < n; i++) {
        if (f->literal[i] != 0 ? s[i] != f->literal[i] : (unsigned)(s[i] - '0') > 9) {
            return false;
        }
    }
    return true;
}

/* ---- UTF-8 helpers ---------------------------------------------------------------------- */

static bool is_cont(char c)
{
    return ((unsigned char)c & 0xC0) == 0x80;
}

static size_t count_chars(const char *s, size_t n)
{
    size_t i, chars = 0;

    for (i = 0; i < n; i++) {
        chars += !is_cont(s[i]);
    }
    return chars;
}

/* Cuts b, from byte from on, to at most max characters. */
static void clamp_chars(struct buf *b, size_t from, size_t max)
{
    size_t i, chars = 0;

    for (i = from; i < b->len; i++) {
        if (!is_cont(b->data[i])) {
            if (chars == max) {
                b->len = i;
                b->data[i] = '\0';
                return;
            }
            chars++;
        }
    }
}

/* Byte offset of a random character boundary in b (0 .. len). */
static size_t random_boundary(const struct buf *b, uint64_t r)
{
    size_t chars = count_chars(b->data, b->len), want = below(r, chars + 1), i, seen = 0;

    for (i = 0; i < b->len; i++) {
        if (!is_cont(b->data[i])) {
            if (seen == want) {
                return i;
            }
            seen++;
        }
    }
    return b->len;
}

/* Byte offset where the last character of b starts (0 when empty). */
static size_t last_char_start(const struct buf *b)
{
    size_t i = b->len;

    while (i > 0) {
        i--;
        if (!is_cont(b->data[i])) {
            return i;
        }
    }
    return 0;
}

static void slot_insert(struct buf *b, size_t pos, const void *p, size_t n)
{
    buf_reserve(b, n);
    memmove(b->data + pos + n, b->data + pos, b->len - pos);
    memcpy(b->data + pos, p, n);
    b->len += n;
    b->data[b->len] = '\0';
}

static void slot_set(struct buf *b, const char *s)
{
    buf_reset(b);
    put_str(b, s);
}

/* n characters from the alphabet, starting at a random place. */
static void put_alphabet(struct buf *b, size_t n, uint64_t r)
{
    size_t i, at = below(r, NALPHABET);

    for (i = 0; i < n; i++) {
        put_str(b, alphabet[(at + i) % NALPHABET]);
    }
}

/* ---- entity codes ------------------------------------------------------------------------ */

/* (v * m) mod half^2 for v < half^2 and m < half, without overflow. */
static uint64_t mulmod_sq(uint64_t v, uint64_t m, uint64_t half)
{
    uint64_t hi = v / half, lo = v % half;

    return (((hi * m) % half) * half + lo * m) % (half * half);
}

/* Item index -> a 13-digit JAN (EAN-13) with prefix 49 and a valid check digit. Injective for
 * idx < 10^10: multiplying by a unit of Z/10^10 permutes it. */
static void put_jan(struct buf *b, uint64_t idx)
{
    uint64_t body = mulmod_sq((idx + 7777) % 10000000000ULL, 31337, 100000);
    char d[13];
    int i, sum = 0;

    body = mulmod_sq((body + 1234567) % 10000000000ULL, 27183, 100000);
    d[0] = '4';
    d[1] = '9';
    for (i = 11; i >= 2; i--) {
        d[i] = (char)('0' + body % 10);
        body /= 10;
    }
    for (i = 0; i < 12; i++) {
        sum += (d[i] - '0') * (i % 2 ? 3 : 1);
    }
    d[12] = (char)('0' + (10 - sum % 10) % 10);
    buf_append(b, d, 13);
}

/* Member index -> a 16-digit card number "29..." (injective for idx < 10^14). */
static void put_card(struct buf *b, uint64_t idx)
{
    uint64_t v = mulmod_sq(idx % 100000000000000ULL, 1234567, 10000000);

    v = mulmod_sq((v + 31415926535ULL) % 100000000000000ULL, 2718281, 10000000);
    put_str(b, "29");
    put_pad(b, v, 14);
}

/* Store index -> "0001".."9999", then "10000"...: injective (only codes < 1000 are padded). */
static void put_store_code(struct buf *b, uint64_t idx)
{
    put_pad(b, idx + 1, 4);
}

/* ---- the generator ----------------------------------------------------------------------- */

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
    if (single_key(t, "store_code", digits_of(rows > 9999 ? rows : 9999))) {
        return ENT_STORE;
    }
    return ENT_GENERIC;
}

/* Can column col hold `rows` distinct values made from a counter? */
static bool can_carry(const struct schema_column *col, uint64_t rows)
{
    switch (col->type) {
    case COL_STRING:
        return col->max_chars >= digits_of(rows);
    case COL_INT64:
    case COL_DATETIME:
    case COL_TIMESTAMP:
        return true;
    case COL_NUMERIC:
        return col->precision - col->scale >= digits_of(rows);
    case COL_DATE:
        return rows <= 3000000; /* days from 0001-01-01 stay within year 9999 */
    case COL_BOOL:
        return false;
    }
    return false;
}

static int plan_table(struct gen *g, struct bz_err *err)
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
        if (!numeric_usable(col)) {
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

static void build_cycle(struct gen *g)
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

static uint64_t receipt_lines(uint64_t seed, uint64_t r)
{
    uint64_t x = hash3(seed, r, 0x7265636569707473ULL);
    static const uint8_t dist[20] = {1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 4, 4, 5, 6, 8, 10, 14};

    return dist[sm_below(&x, 20)];
}

/* The receipt position after aux. */
static uint64_t advance_aux(const struct gen *g, uint64_t aux)
{
    uint64_t r = aux >> 8, line = aux & 0xFF;

    if (aux == UINT64_MAX) {
        return 1; /* receipt 0, line 1 */
    }
    if (line < receipt_lines(g->seed, r)) {
        return (r << 8) | (line + 1);
    }
    return ((r + 1) << 8) | 1;
}

static void prepare(struct gen *g, uint64_t k, uint64_t aux, uint64_t variant)
{
    struct line_ctx *c = &g->ctx;
    uint64_t x, v;
    uint32_t q;

    memset(c, 0, sizeof(*c));
    c->k = k;
    c->kseed = hash3(g->seed, k, 0x6B6579);
    c->vseed = hash3(g->seed ^ 0x76617269616E74ULL, k, variant);
    x = c->kseed;
    v = c->vseed;
    c->item = sm_chance(&x, 50) ? sm_below(&x, NPOPULAR) : sm_below(&x, NITEMS);
    c->store = sm_below(&x, NSTORES);
    c->has_member = sm_chance(&x, 45);
    c->member = sm_below(&x, NMEMBERS);
    c->plain = sm_chance(&x, 12);
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
        c->rseed = hash3(g->seed, c->r, 0x72736565640AULL);
        {
            uint64_t rs = c->rseed;
            c->has_member = sm_chance(&rs, 45);
            c->member = sm_below(&rs, NMEMBERS);
            c->plain = sm_chance(&rs, 12); /* "198" rather than "198.00" on this receipt */
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
    item_attrs(c->item, &c->ia);
    /* money: quantity and corrections are per variant, list price per item */
    q = sm_below(&v, 100);
    if (c->ia.price_sen <= 500) {
        c->qty = 1; /* a carrier bag */
    } else if (q < 2) {
        c->qty = sm_chance(&v, 80) ? -1 : -2; /* a return */
    } else if (q < 86) {
        c->qty = 1;
    } else if (q < 95) {
        c->qty = 2;
    } else {
        c->qty = 3 + (int64_t)sm_below(&v, 4);
    }
    c->price = c->ia.price_sen;
    if (variant != 0 && g->entity == ENT_ITEM && sm_chance(&v, 50)) {
        c->price = c->price * (90 + sm_below(&v, 21)) / 100 / 100 * 100; /* a price change */
    }
    c->amount = c->price * c->qty;
    c->has_discount = c->qty > 0 && sm_chance(&v, 7);
    if (c->has_discount) {
        static const int pct[4] = {10, 20, 30, 50};
        c->discount = c->amount * pct[sm_below(&v, 4)] / 100 / 100 * 100;
    }
    c->tax_rate = c->ia.p->reduced ? 8 : 10;
    c->tax = (c->amount - c->discount) * c->tax_rate / 100 / 100 * 100;
    c->deleted = sm_chance(&v, variant == 0 ? 2 : 10);
    /* output_at of the key's first line */
    if (g->entity == ENT_RECEIPT) {
        c->order = (c->business_day + 1) * SECONDS_PER_DAY + 5400 + sm_below(&x, 3600);
    } else {
        c->order =
            field_days_from_civil(2026, 11, 24) * SECONDS_PER_DAY + 3 * 3600 + sm_below(&x, 3600);
    }
}

/* ---- column values ------------------------------------------------------------------------ */

static void gen_generic(struct gen *g, size_t ci, const struct schema_column *col, uint64_t x,
                        struct buf *b)
{
    size_t i, n;

    (void)g;
    (void)ci;
    switch (col->type) {
    case COL_STRING:
        n = 1 + sm_below(&x, col->max_chars < 16 ? (uint64_t)col->max_chars : 16);
        for (i = 0; i < n; i++) {
            if (sm_chance(&x, 80)) {
                static const char an[] = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789abcdefghijkmnopqrstu";
                buf_append_char(b, an[sm_below(&x, sizeof(an) - 1)]);
            } else {
                put_str(b, alphabet[sm_below(&x, NALPHABET)]);
            }
        }
        clamp_chars(b, 0, (size_t)col->max_chars);
        break;
    case COL_INT64:
        put_i64(b, (int64_t)sm_below(&x, 100000));
        break;
    case COL_NUMERIC: {
        int int_digits = col->precision - col->scale < 5 ? col->precision - col->scale : 5;
        int64_t v =
            (int64_t)sm_below(&x, (uint64_t)field_pow10(int_digits)) * field_pow10(col->scale) +
            (int64_t)sm_below(&x, (uint64_t)field_pow10(col->scale));
        put_scaled(b, sm_chance(&x, 5) ? -v : v, col->scale);
        break;
    }
    case COL_BOOL:
        buf_append_char(b, sm_chance(&x, 50) ? '1' : '0');
        break;
    case COL_DATE:
        put_days(b, &col->format, field_days_from_civil(2000, 1, 1) + sm_below(&x, 9800));
        break;
    case COL_DATETIME:
    case COL_TIMESTAMP:
        put_seconds(b, &col->format,
                    field_days_from_civil(2026, 1, 1) * SECONDS_PER_DAY +
                        (int64_t)sm_below(&x, 330u * SECONDS_PER_DAY));
        break;
    }
}

static void gen_carrier(const struct gen *g, const struct schema_column *col, struct buf *b)
{
    uint64_t k = g->ctx.k;

    switch (col->type) {
    case COL_STRING:
        if (col->max_chars > digits_of(g->o->rows)) {
            buf_append_char(b, 'K');
        }
        put_u64(b, k);
        break;
    case COL_INT64:
        put_u64(b, k + 1);
        break;
    case COL_NUMERIC:
        put_u64(b, k);
        break;
    case COL_DATE:
        put_days(b, &col->format, field_days_from_civil(1, 1, 1) + (int64_t)k);
        break;
    case COL_DATETIME:
    case COL_TIMESTAMP:
        put_seconds(b, &col->format,
                    field_days_from_civil(2000, 1, 1) * SECONDS_PER_DAY + (int64_t)k);
        break;
    case COL_BOOL:
        break; /* never a carrier */
    }
}

static void put_item_name(struct buf *b, const struct item_attr *a, bool kana)
{
    if (a->origin >= 0) {
        put_str(b, kana ? origins[a->origin].kana : origins[a->origin].name);
        buf_append_char(b, ' ');
    }
    put_str(b, kana ? a->p->kana : a->p->name);
    if (a->sized) {
        buf_append_char(b, ' ');
        put_str(b, a->p->size);
    }
}

/* Writes column ci of the current line into b (empty for NULL). */
static void gen_column(struct gen *g, size_t ci, struct buf *b)
{
    const struct schema_column *col = &g->t->columns[ci];
    const struct col_plan *p = &g->plan[ci];
    struct line_ctx *c = &g->ctx;
    uint64_t x = hash3(c->kseed, ci, 1); /* this column's immutable values */
    uint64_t v = hash3(c->vseed, ci, 2); /* this column's correctable values */
    bool nullable = p->nullable;
    struct store_attr sa;
    struct member_attr ma;

    buf_reset(b);
    if (!numeric_usable(col)) {
        return;
    }
    switch (p->role) {
    case R_GENERIC:
        if (nullable && sm_chance(&x, 8)) {
            return;
        }
        gen_generic(g, ci, col, v, b);
        return;
    case R_KEY_CARRIER:
        gen_carrier(g, col, b);
        return;
    case R_KEY_DERIVED:
        gen_generic(g, ci, col, x, b);
        return;
    case R_ORDER:
        put_seconds(b, &col->format, c->order);
        return;
    case R_IS_DELETED:
        buf_append_char(b, c->deleted ? '1' : '0');
        return;
    case R_STORE_CODE:
        put_store_code(b, c->store);
        break;
    case R_BUSINESS_DATE:
        put_days(b, &col->format, c->business_day);
        return;
    case R_REGISTER_NO:
        put_u64(b, c->register_no);
        return;
    case R_RECEIPT_NO:
        put_u64(b, c->receipt_no);
        return;
    case R_LINE_NO:
        put_u64(b, c->line_no);
        return;
    case R_SOLD_AT:
        if (g->entity == ENT_RECEIPT) {
            put_seconds(b, &col->format, c->sold_at);
        } else {
            gen_generic(g, ci, col, x, b);
        }
        return;
    case R_MEMBER_ID:
        if (nullable && !c->has_member) {
            return;
        }
        put_card(b, c->member);
        break;
    case R_ITEM_CODE:
        put_jan(b, c->item);
        break;
    case R_ITEM_NAME:
        if (nullable && sm_chance(&x, 2)) {
            return;
        }
        put_item_name(b, &c->ia, false);
        break;
    case R_ITEM_KANA:
        if (nullable && !c->ia.has_kana) {
            return;
        }
        put_item_name(b, &c->ia, true);
        break;
    case R_CATEGORY:
        if (nullable && !c->ia.has_category) {
            return;
        }
        put_str(b, c->ia.p->category);
        break;
    case R_QUANTITY:
        put_i64(b, c->qty);
        return;
    case R_UNIT_PRICE:
        if (nullable && g->entity == ENT_ITEM && sm_chance(&x, 4)) {
            return; /* open price */
        }
        put_money(b, col, c->price, c->plain);
        return;
    case R_AMOUNT:
        put_money(b, col, c->amount, c->plain);
        return;
    case R_DISCOUNT:
        if (nullable && !c->has_discount) {
            return;
        }
        put_money(b, col, c->discount, c->plain);
        return;
    case R_TAX:
        put_money(b, col, c->tax, c->plain);
        return;
    case R_TAX_RATE:
        put_money(b, col, (int64_t)c->tax_rate * 100, false);
        return;
    case R_PAYMENT: {
        uint64_t rs = g->entity == ENT_RECEIPT ? c->rseed : x;
        uint32_t pay = sm_below(&rs, 100);
        if (nullable && pay < 2) {
            return;
        }
        put_str(b, pay < 57 ? "01" : pay < 82 ? "02" : pay < 94 ? "03" : "04");
        break;
    }
    case R_STAFF: {
        uint64_t s = hash3(UNIVERSE, c->store * 16 + c->register_no, (uint64_t)c->business_day);
        if (nullable && sm_chance(&s, 6)) {
            return;
        }
        put_pad(b, 100000 + sm_below(&s, 900000), 6);
        break;
    }
    case R_MAKER:
        if (nullable && c->ia.maker < 0) {
            return;
        }
        put_str(b, makers[c->ia.maker < 0 ? 0 : c->ia.maker]);
        break;
    case R_SALES_START:
        if (nullable && c->ia.sales_start < 0) {
            return;
        }
        put_days(b, &col->format,
                 c->ia.sales_start < 0 ? field_days_from_civil(2015, 1, 1) : c->ia.sales_start);
        return;
    case R_SALES_END:
        if (nullable && c->ia.sales_end < 0) {
            return;
        }
        put_days(b, &col->format,
                 c->ia.sales_end < 0 ? field_days_from_civil(2099, 12, 31) : c->ia.sales_end);
        return;
    case R_GENDER:
        member_attrs(c->member, &ma);
        if (nullable && ma.gender == 0) {
            return;
        }
        buf_append_char(b, (char)(ma.gender ? ma.gender : '9'));
        break;
    case R_BIRTH:
        member_attrs(c->member, &ma);
        if (nullable && ma.birth < 0) {
            return;
        }
        put_days(b, &col->format, ma.birth < 0 ? field_days_from_civil(1980, 1, 1) : ma.birth);
        return;
    case R_POSTAL:
        member_attrs(c->member, &ma);
        if (nullable && !ma.has_postal) {
            return;
        }
        put_str(b, ma.postal);
        break;
    case R_HOME_STORE:
        member_attrs(c->member, &ma);
        if (nullable && ma.home_store == NSTORES) {
            return;
        }
        put_store_code(b, ma.home_store % NSTORES);
        break;
    case R_JOINED:
        member_attrs(c->member, &ma);
        put_days(b, &col->format, ma.joined);
        return;
    case R_WITHDRAWN:
        member_attrs(c->member, &ma);
        if (nullable && ma.withdrawn < 0) {
            return;
        }
        put_days(b, &col->format, ma.withdrawn < 0 ? ma.joined + 1 : ma.withdrawn);
        return;
    case R_POINTS:
        member_attrs(c->member, &ma);
        if (nullable && sm_chance(&x, 5)) {
            return;
        }
        /* points move between resends: they are what a correction usually changes */
        put_i64(b, ma.points + (int64_t)sm_below(&v, 500));
        return;
    case R_STORE_NAME:
        store_attrs(c->store, &sa);
        put_str(b, chains[sa.chain]);
        buf_append_char(b, ' ');
        put_str(b, areas[sa.area].name);
        put_str(b, "店");
        break;
    case R_PREFECTURE:
        store_attrs(c->store, &sa);
        if (nullable && !sa.has_prefecture) {
            return;
        }
        put_str(b, prefectures[areas[sa.area].prefecture]);
        break;
    case R_OPENED:
        store_attrs(c->store, &sa);
        if (nullable && sa.opened < 0) {
            return;
        }
        put_days(b, &col->format, sa.opened < 0 ? field_days_from_civil(2000, 4, 1) : sa.opened);
        return;
    case R_CLOSED:
        store_attrs(c->store, &sa);
        if (nullable && sa.closed < 0) {
            return;
        }
        put_days(b, &col->format, sa.closed < 0 ? field_days_from_civil(2030, 3, 31) : sa.closed);
        return;
    case R_FLOOR_AREA:
        store_attrs(c->store, &sa);
        if (nullable && sa.floor_tenths < 0) {
            return;
        }
        /* a correction re-measures the floor */
        put_money(b, col,
                  (sa.floor_tenths < 0 ? 10000 : sa.floor_tenths) * 10 +
                      (int64_t)(sm_below(&v, 3) * 10),
                  false);
        return;
    }
    /* string roles: never longer than the column allows */
    if (col->type == COL_STRING) {
        clamp_chars(b, 0, (size_t)col->max_chars);
    }
}

static void gen_record(struct gen *g)
{
    size_t c;

    for (c = 0; c < g->ncols; c++) {
        gen_column(g, c, &g->slots[c]);
    }
}

/* ---- boundary values that must be accepted ------------------------------------------------ */

static void apply_edge(struct gen *g)
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
    c = cand[xo_below(&g->rng, n)];
    col = &g->t->columns[c];
    b = &g->slots[c];
    pick = xo_below(&g->rng, 3);
    buf_reset(b);
    switch (col->type) {
    case COL_STRING:
        /* exactly n characters, most of them multi-byte: bytes != characters */
        put_alphabet(b, (size_t)col->max_chars, xo_next(&g->rng));
        break;
    case COL_INT64:
        put_str(b, pick == 0 ? "-9223372036854775808" : pick == 1 ? "9223372036854775807" : "0");
        break;
    case COL_NUMERIC:
        int_digits = col->precision - col->scale;
        if (pick == 0) {
            buf_append_char(b, '-');
        }
        if (pick == 2) {
            buf_append_char(b, '0'); /* "0" or "0.5": fewer fraction digits than the scale */
            if (col->scale > 0) {
                put_str(b, ".5");
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
        put_civil(b, &col->format, &dates[pick]);
        break;
    }
    case COL_DATETIME:
    case COL_TIMESTAMP: {
        static const struct civil times[3] = {
            {2020, 2, 29, 23, 59, 59}, {1, 1, 1, 0, 0, 0}, {9999, 12, 31, 23, 59, 59}};
        put_civil(b, &col->format, &times[pick]);
        break;
    }
    case COL_BOOL:
        buf_append_char(b, '1');
        break;
    }
    g->exp->edge_lines++;
}

/* ---- defects -------------------------------------------------------------------------------- */

static size_t choose_column(struct gen *g, enum feedgen_kind kind)
{
    size_t cand[256], n = 0, c;

    for (c = 0; c < g->ncols && n < 256; c++) {
        if (kind_fits_column(kind, &g->t->columns[c])) {
            cand[n++] = c;
        }
    }
    return cand[xo_below(&g->rng, n)]; /* n > 0: the kind is in the cycle */
}

/* The absolute value of an int64 slot, or fallback when the slot is not a plain integer. */
static uint64_t slot_uint(const struct buf *b, uint64_t fallback)
{
    size_t i = (b->len > 0 && b->data[0] == '-') ? 1 : 0;
    uint64_t v = 0;

    if (i == b->len || b->len - i > 18) {
        return fallback;
    }
    for (; i < b->len; i++) {
        if (b->data[i] < '0' || b->data[i] > '9') {
            return fallback;
        }
        v = v * 10 + (uint64_t)(b->data[i] - '0');
    }
    return v;
}

static void plant_bytes(struct gen *g, size_t c, const char *bytes, size_t n, uint64_t lineno)
{
    struct buf *b = &g->slots[c];
    size_t pos = random_boundary(b, xo_next(&g->rng));

    if (lineno == 1 && !g->o->bom && c == 0 && pos == 0 && n >= 3 && bytes[0] == '\xEF') {
        /* a BOM at byte 0 of the file is dropped as the file's BOM, not rejected */
        if (b->len == 0) {
            slot_insert(b, 0, "x", 1);
        }
        pos = b->len;
    }
    slot_insert(b, pos, bytes, n);
}

/* Gives column c of the current record a date/datetime with the given parts. */
static void put_bad_civil(struct gen *g, size_t c, int y, int mo, int d, int h, int mi, int s)
{
    const struct schema_column *col = &g->t->columns[c];
    struct civil t;

    t.y = y;
    t.mo = mo;
    t.d = d;
    t.h = h;
    t.mi = mi;
    t.s = s;
    buf_reset(&g->slots[c]);
    put_civil(&g->slots[c], &col->format, &t);
}

/* Replaces the slot with the first candidate that does not fit the column's layout. */
static void put_misshapen(struct gen *g, size_t c, const char *const *cands, size_t n)
{
    const struct schema_column *col = &g->t->columns[c];
    struct buf *b = &g->slots[c];
    size_t i, start = xo_below(&g->rng, n);

    for (i = 0; i < n; i++) {
        const char *s = cands[(start + i) % n];
        if (!shape_matches(s, strlen(s), &col->format)) {
            slot_set(b, s);
            return;
        }
    }
    slot_set(b, "X"); /* a layout that takes every candidate still refuses this */
}

static void plant_field_defect(struct gen *g, enum feedgen_kind kind, uint64_t lineno)
{
    size_t c = choose_column(g, kind);
    const struct schema_column *col = &g->t->columns[c];
    struct buf *b = &g->slots[c];
    uint32_t pick = xo_below(&g->rng, 4);
    uint64_t u;
    int i, int_digits = col->type == COL_NUMERIC ? col->precision - col->scale : 0;
    int yr = 2026, mo = 1 + (int)xo_below(&g->rng, 12), dy = 1 + (int)xo_below(&g->rng, 28);
    int hh = (int)xo_below(&g->rng, 24), mi = (int)xo_below(&g->rng, 60),
        ss = (int)xo_below(&g->rng, 60);

    switch (kind) {
    case FEEDGEN_NUL_BYTE:
        plant_bytes(g, c, "\0", 1, lineno);
        break;
    case FEEDGEN_CONTROL_ESC:
        plant_bytes(g, c, pick < 2 ? "\x1B" : "\x1B[0m", pick < 2 ? 1 : 4, lineno);
        break;
    case FEEDGEN_CONTROL_DEL:
        plant_bytes(g, c, "\x7F", 1, lineno);
        break;
    case FEEDGEN_CR_IN_LINE: {
        /* CR inside a value, as a cell with a line break pasted from a spreadsheet. Never at
         * the end of the last field: there it would merely make the line end CRLF. */
        size_t pos = random_boundary(b, xo_next(&g->rng));
        if (c + 1 == g->ncols && pos == b->len) {
            if (b->len == 0) {
                slot_insert(b, 0, "x", 1);
            }
            pos = last_char_start(b);
        }
        slot_insert(b, pos, "\r", 1);
        break;
    }
    case FEEDGEN_UTF8_BAD_CONTINUATION:
        plant_bytes(g, c, "\xC3\x28", 2, lineno);
        break;
    case FEEDGEN_UTF8_OVERLONG:
        plant_bytes(g, c, "\xC0\xAF", 2, lineno);
        break;
    case FEEDGEN_UTF8_SURROGATE:
        plant_bytes(g, c, "\xED\xA0\x80", 3, lineno);
        break;
    case FEEDGEN_UTF8_TRUNCATED: {
        /* a sender that cuts values by bytes: the last character loses its last byte */
        size_t last = last_char_start(b);
        if (b->len > 0 && (unsigned char)b->data[last] >= 0xC0) {
            b->len--;
            b->data[b->len] = '\0';
        } else {
            put_str(b, "\xE3\x81");
        }
        break;
    }
    case FEEDGEN_UTF8_SHIFT_JIS: {
        static const char *const sjis[] = {"\x8B\x8D\x93\xFB",         /* 牛乳 */
                                           "\x93\xA4\x95\x85",         /* 豆腐 */
                                           "\x83\x6F\x83\x69\x83\x69", /* バナナ */
                                           "\xB6\xDE\xD1"};            /* ｶﾞﾑ (half-width) */
        slot_set(b, sjis[pick]);
        break;
    }
    case FEEDGEN_BOM_IN_FIELD:
        plant_bytes(g, c, "\xEF\xBB\xBF", 3, lineno);
        break;
    case FEEDGEN_STRING_TOO_LONG: {
        /* the real value, lengthened with multi-byte characters to n+1 (or a few more) */
        size_t want = (size_t)col->max_chars + 1 + (pick == 3 ? xo_below(&g->rng, 5) : 0);
        size_t have = count_chars(b->data, b->len);
        if (have > want) {
            buf_reset(b);
            have = 0;
        }
        put_alphabet(b, want - have, xo_next(&g->rng));
        break;
    }
    case FEEDGEN_REQUIRED_MISSING:
        buf_reset(b);
        break;
    case FEEDGEN_INT_PLUS:
        u = slot_uint(b, 1);
        buf_reset(b);
        buf_append_char(b, '+');
        put_u64(b, u);
        break;
    case FEEDGEN_INT_SPACE:
        u = slot_uint(b, 1);
        buf_reset(b);
        if (pick < 2) {
            buf_append_char(b, ' ');
        }
        put_u64(b, u);
        if (pick >= 2) {
            buf_append_char(b, ' ');
        }
        break;
    case FEEDGEN_INT_EXPONENT: {
        static const char *const e[] = {"1e3", "2E2", "1E+03", "5e0"};
        slot_set(b, e[pick]);
        break;
    }
    case FEEDGEN_INT_LEADING_ZERO:
        u = slot_uint(b, 7);
        buf_reset(b);
        put_str(b, pick == 0 ? "00" : "0");
        put_u64(b, u == 0 ? 7 : u);
        break;
    case FEEDGEN_INT_THOUSANDS:
        u = 1000 + xo_below(&g->rng, 999000);
        buf_reset(b);
        put_u64(b, u / 1000);
        buf_append_char(b, ',');
        put_pad(b, u % 1000, 3);
        break;
    case FEEDGEN_INT_FULLWIDTH: {
        char tmp[24];
        size_t n = 0;
        u = slot_uint(b, 12);
        do {
            tmp[n++] = (char)('0' + u % 10);
            u /= 10;
        } while (u != 0);
        buf_reset(b);
        while (n > 0) {
            char fw[3] = {'\xEF', '\xBC', (char)(0x90 + (tmp[--n] - '0'))}; /* U+FF10.. */
            buf_append(b, fw, 3);
        }
        break;
    }
    case FEEDGEN_INT_DECIMAL:
        u = slot_uint(b, 2);
        buf_reset(b);
        put_u64(b, u);
        put_str(b, ".0");
        break;
    case FEEDGEN_INT_OVERFLOW: {
        static const char *const big[] = {"9223372036854775808", "-9223372036854775809",
                                          "18446744073709551616", "99999999999999999999"};
        slot_set(b, big[pick]);
        break;
    }
    case FEEDGEN_NUM_SCALE:
        buf_reset(b);
        put_u64(b, xo_below(&g->rng, (uint64_t)field_pow10(int_digits < 4 ? int_digits : 4)));
        buf_append_char(b, '.');
        for (i = 0; i <= col->scale; i++) {
            buf_append_char(b, (char)('0' + xo_below(&g->rng, 10)));
        }
        break;
    case FEEDGEN_NUM_PRECISION:
        buf_reset(b);
        buf_append_char(b, (char)('1' + xo_below(&g->rng, 9)));
        for (i = 0; i < int_digits; i++) {
            buf_append_char(b, (char)('0' + xo_below(&g->rng, 10)));
        }
        if (col->scale > 0) {
            buf_append_char(b, '.');
            for (i = 0; i < col->scale; i++) {
                buf_append_char(b, '0');
            }
        }
        break;
    case FEEDGEN_NUM_TRAILING_POINT:
        buf_reset(b);
        put_u64(b, xo_below(&g->rng, (uint64_t)field_pow10(int_digits < 4 ? int_digits : 4)));
        buf_append_char(b, '.');
        break;
    case FEEDGEN_NUM_LEADING_POINT:
        slot_set(b, pick < 2 ? ".5" : "-.25");
        break;
    case FEEDGEN_NUM_GARBAGE: {
        static const char *const junk[] = {"12a", "N/A", "198円", "¥198"};
        slot_set(b, junk[pick]);
        break;
    }
    case FEEDGEN_NUM_THOUSANDS:
        slot_set(b, col->scale > 0 ? "1,980.00" : "1,980");
        break;
    case FEEDGEN_BOOL_2:
        slot_set(b, "2");
        break;
    case FEEDGEN_BOOL_WORD: {
        static const char *const words[] = {"true", "TRUE", "false", "yes"};
        slot_set(b, words[pick]);
        break;
    }
    case FEEDGEN_DATE_FEB30:
        put_bad_civil(g, c, pick < 2 ? 2020 : 2026, 2, 30, hh, mi, ss);
        break;
    case FEEDGEN_DATE_FEB29_NONLEAP: {
        static const int years[4] = {2021, 2023, 1900, 2100};
        put_bad_civil(g, c, years[pick], 2, 29, hh, mi, ss);
        break;
    }
    case FEEDGEN_DATE_MONTH13:
        put_bad_civil(g, c, yr, 13, dy, hh, mi, ss);
        break;
    case FEEDGEN_DATE_YEAR0:
        put_bad_civil(g, c, 0, mo, dy, hh, mi, ss);
        break;
    case FEEDGEN_DATE_WRONG_FORMAT: {
        static const char *const cands[] = {"2026-11-24", "2026/11/24", "24.11.2026",
                                            "令和8年11月24日"};
        put_misshapen(g, c, cands, 4);
        break;
    }
    case FEEDGEN_TIME_HOUR24:
        /* 24:00:00, or a convenience store's "25時" for 1 a.m. of the next day */
        put_bad_civil(g, c, yr, mo, dy, pick < 2 ? 24 : 25, pick < 2 ? 0 : mi, pick < 2 ? 0 : ss);
        break;
    case FEEDGEN_TIME_MINUTE60:
        put_bad_civil(g, c, yr, mo, dy, hh, 60, ss);
        break;
    case FEEDGEN_TIME_SECOND60:
        put_bad_civil(g, c, pick < 2 ? 2016 : yr, pick < 2 ? 12 : mo, pick < 2 ? 31 : dy, 23, 59,
                      60); /* a leap second */
        break;
    case FEEDGEN_DATETIME_ISO: {
        static const char *const cands[] = {"2026-11-24T10:00:00", "2026-11-24 10:00:00",
                                            "2026/11/24 10:00", "2026-11-24T10:00:00+09:00"};
        put_misshapen(g, c, cands, 4);
        break;
    }
    case FEEDGEN_DATETIME_WRONG_LENGTH:
        /* the seconds left off: "202611241000" */
        if (b->len >= 2) {
            b->len -= 2;
            b->data[b->len] = '\0';
        } else {
            slot_set(b, "2026112410");
        }
        break;
    default:
        break;
    }
}

/* Defects that change the field structure, applied to the slots before they are joined. Sets
 * *join_twice for a line written twice without a newline between the copies. */
static void plant_structure_defect(struct gen *g, enum feedgen_kind kind, bool *join_twice,
                                   size_t *drop)
{
    uint32_t pick = xo_below(&g->rng, 3);
    size_t c;

    *join_twice = false;
    *drop = SIZE_MAX;
    if (kind == FEEDGEN_TOO_MANY_COLUMNS) {
        if (pick == 0 && feedgen_kind_applies(g->t, FEEDGEN_STRING_TOO_LONG)) {
            /* a TAB inside a value: "北海道産\t牛乳" */
            struct buf *b;
            char *space;
            c = choose_column(g, FEEDGEN_STRING_TOO_LONG);
            b = &g->slots[c];
            space = b->len ? memchr(b->data, ' ', b->len) : NULL;
            if (space != NULL) {
                *space = '\t';
            } else {
                slot_insert(b, random_boundary(b, xo_next(&g->rng)), "\t", 1);
            }
        } else if (pick == 1) {
            /* an extra column in the middle, e.g. a sender's own memo field */
            c = xo_below(&g->rng, g->ncols);
            put_str(&g->slots[c], xo_below(&g->rng, 2) ? "\t備考" : "\t");
        } else {
            *join_twice = true; /* a lost newline */
        }
    } else if (kind == FEEDGEN_TOO_FEW_COLUMNS && pick == 0) {
        *drop = xo_below(&g->rng, g->ncols); /* a column left out */
    }
}

/* ---- output ---------------------------------------------------------------------------------- */

static void out_flush(struct gen *g)
{
    if (g->obuf.len > 0 && g->write_errno == 0) {
        if (fwrite(g->obuf.data, 1, g->obuf.len, g->out) != g->obuf.len) {
            g->write_errno = errno ? errno : EIO;
        }
    }
    g->bytes += g->obuf.len;
    buf_reset(&g->obuf);
}

/* Joins the slots into g->line, leaving out column drop (SIZE_MAX: none). */
static void join_slots(struct gen *g, size_t drop)
{
    size_t c;
    bool first = true;

    buf_reset(&g->line);
    for (c = 0; c < g->ncols; c++) {
        if (c == drop) {
            continue;
        }
        if (!first) {
            buf_append_char(&g->line, '\t');
        }
        buf_append(&g->line, g->slots[c].data, g->slots[c].len);
        first = false;
    }
}

/* Cuts g->line at a character boundary before its last TAB, so a field or more is lost. */
static void truncate_line(struct gen *g)
{
    char *last_tab = NULL;
    size_t i, pos;

    for (i = g->line.len; i > 0; i--) {
        if (g->line.data[i - 1] == '\t') {
            last_tab = g->line.data + i - 1;
            break;
        }
    }
    if (last_tab == NULL || last_tab == g->line.data) {
        slot_set(&g->line, "x"); /* nothing to cut that keeps the line non-empty */
        return;
    }
    pos = 1 + below(xo_next(&g->rng), (uint64_t)(last_tab - g->line.data));
    while (pos > 1 && is_cont(g->line.data[pos])) {
        pos--;
    }
    g->line.len = pos;
    g->line.data[pos] = '\0';
}

/* Appends the line and its ending to the output. */
static void emit_line(struct gen *g, uint64_t lineno)
{
    bool last = lineno == g->o->rows;

    buf_append(&g->obuf, g->line.data, g->line.len);
    if (!last || g->o->final_newline) {
        if (xo_below(&g->rng, PPB) < g->crlf_ppb) {
            buf_append(&g->obuf, "\r\n", 2);
            g->exp->crlf_lines++;
        } else {
            buf_append_char(&g->obuf, '\n');
        }
    }
    if (g->obuf.len >= OUT_FLUSH) {
        out_flush(g);
    }
}

/* ---- keys ------------------------------------------------------------------------------------ */

static uint64_t new_key(struct gen *g)
{
    uint64_t k = g->nkeys++;

    if (k == g->keycap) {
        g->keycap = g->keycap ? g->keycap * 2 : 4096;
        g->best_order = xrealloc(g->best_order, g->keycap * sizeof(*g->best_order));
        g->best_line = xrealloc(g->best_line, g->keycap * sizeof(*g->best_line));
        if (g->entity == ENT_RECEIPT) {
            g->aux = xrealloc(g->aux, g->keycap * sizeof(*g->aux));
        }
    }
    if (g->entity == ENT_RECEIPT) {
        g->aux[k] = g->next_aux;
        g->next_aux = advance_aux(g, g->next_aux);
    }
    return k;
}

static uint64_t key_aux(const struct gen *g, uint64_t k)
{
    if (g->entity != ENT_RECEIPT) {
        return 0;
    }
    return k < g->nkeys ? g->aux[k] : g->next_aux;
}

static void remember_valid(struct gen *g, uint64_t k, uint64_t lineno)
{
    g->ring[g->ring_at] = (uint32_t)k;
    g->ring_at = (g->ring_at + 1) % RING;
    if (g->ring_n < RING) {
        g->ring_n++;
    }
    if (g->line_info != NULL) {
        g->line_info[lineno - 1] = (uint32_t)k;
    }
}

/* ---- lines ----------------------------------------------------------------------------------- */

static void line_new(struct gen *g, uint64_t lineno)
{
    uint64_t k = new_key(g);

    prepare(g, k, key_aux(g, k), 0);
    g->best_order[k] = g->ctx.order;
    g->best_line[k] = (uint32_t)lineno;
    gen_record(g);
    if (xo_below(&g->rng, EDGE_ONE_IN) == 0) {
        apply_edge(g);
    }
    join_slots(g, SIZE_MAX);
    remember_valid(g, k, lineno);
}

static void line_dup(struct gen *g, uint64_t lineno)
{
    bool near = g->ring_n > 0 && xo_below(&g->rng, 2) == 0;
    uint64_t k = near ? g->ring[xo_below(&g->rng, g->ring_n)] : xo_below(&g->rng, g->nkeys);
    uint32_t mode = xo_below(&g->rng, 10);
    uint64_t variant = xo_below(&g->rng, 10) < 6 ? 0 : 1 + xo_below(&g->rng, 1000000);
    int64_t order = g->best_order[k];

    if (mode < 4) {
        order += 1 + xo_below(&g->rng, 7200); /* a later correction or resend */
        g->exp->dup_newer++;
    } else if (mode < 7) {
        order -= 1 + xo_below(&g->rng, 86400); /* a stale copy sent again */
        g->exp->dup_older++;
    } else {
        g->exp->dup_tie++; /* same output_at: the later line wins */
    }
    if (near) {
        g->exp->dup_near++;
    } else {
        g->exp->dup_far++;
    }
    prepare(g, k, key_aux(g, k), variant);
    g->ctx.order = order;
    if (order >= g->best_order[k]) {
        g->best_order[k] = order;
        g->best_line[k] = (uint32_t)lineno;
    }
    gen_record(g);
    if (xo_below(&g->rng, EDGE_ONE_IN) == 0) {
        apply_edge(g);
    }
    join_slots(g, SIZE_MAX);
    remember_valid(g, k, lineno);
}

static enum feedgen_kind next_kind(struct gen *g, uint64_t lineno)
{
    enum feedgen_kind kind;

    for (;;) {
        kind = g->cycle[g->next_kind];
        g->next_kind = (g->next_kind + 1) % g->ncycle;
        /* an empty last line without a newline is no line at all */
        if (kind == FEEDGEN_EMPTY_LINE && lineno == g->o->rows && !g->o->final_newline) {
            continue;
        }
        return kind;
    }
}

static void line_invalid(struct gen *g, uint64_t lineno)
{
    enum feedgen_kind kind = next_kind(g, lineno);
    uint64_t k = g->nkeys > 0 && xo_below(&g->rng, 2) ? xo_below(&g->rng, g->nkeys) : g->nkeys;
    bool twice = false;
    size_t drop = SIZE_MAX;

    /* a record of an existing key or of the next one, then exactly one defect */
    prepare(g, k, key_aux(g, k), 0);
    gen_record(g);
    if (kinds[kind].where & K_LINE) {
        plant_structure_defect(g, kind, &twice, &drop);
    } else {
        plant_field_defect(g, kind, lineno);
    }
    join_slots(g, drop);
    switch (kind) {
    case FEEDGEN_EMPTY_LINE:
        buf_reset(&g->line);
        break;
    case FEEDGEN_TRAILING_TAB:
        buf_append_char(&g->line, '\t');
        break;
    case FEEDGEN_TOO_FEW_COLUMNS:
        if (drop == SIZE_MAX || g->line.len == 0) {
            join_slots(g, SIZE_MAX);
            truncate_line(g);
        }
        break;
    case FEEDGEN_TOO_MANY_COLUMNS:
        if (twice) {
            size_t n = g->line.len;
            buf_reserve(&g->line, n);
            buf_append(&g->line, g->line.data, n);
        }
        break;
    default:
        break;
    }
    g->exp->by_kind[kind]++;
    g->exp->rejected_invalid++;
    if (g->line_info != NULL) {
        g->line_info[lineno - 1] = INVALID_BIT | (uint32_t)kind;
    }
}

/* ---- expect lines ------------------------------------------------------------------------ */

static int write_expect(struct gen *g, FILE *f, struct bz_err *err)
{
    struct buf b;
    uint64_t i;
    int rc = BZ_OK;

    buf_init(&b);
    for (i = 0; i < g->o->rows && rc == BZ_OK; i++) {
        uint32_t info = g->line_info[i];
        if (info & INVALID_BIT) {
            put_u64(&b, i + 1);
            put_str(&b, "\tinvalid\t");
            put_str(&b, kinds[info & ~INVALID_BIT].name);
            buf_append_char(&b, '\n');
        } else if (g->best_line[info] != i + 1) {
            put_u64(&b, i + 1);
            put_str(&b, "\tduplicate\t");
            put_u64(&b, g->best_line[info]);
            buf_append_char(&b, '\n');
        }
        if (b.len >= OUT_FLUSH || i + 1 == g->o->rows) {
            if (b.len > 0 && fwrite(b.data, 1, b.len, f) != b.len) {
                rc = bz_err_set(err, BZ_E_IO, "cannot write the expect-lines file: %s",
                                strerror(errno));
            }
            buf_reset(&b);
        }
    }
    buf_release(&b);
    return rc;
}

/* ---- entry point ----------------------------------------------------------------------------- */

static int check_options(const struct feedgen_options *o, struct bz_err *err)
{
    if (o->table == NULL) {
        return bz_err_set(err, BZ_E_INVALID_INPUT, "feedgen: no table given");
    }
    if (o->rows > FEEDGEN_MAX_ROWS) {
        return bz_err_set(err, BZ_E_INVALID_INPUT,
                          "feedgen: %llu rows is more than the %llu "
                          "supported",
                          (unsigned long long)o->rows, FEEDGEN_MAX_ROWS);
    }
    if (!(o->error_rate >= 0 && o->error_rate <= 1) || !(o->dup_rate >= 0 && o->dup_rate <= 1) ||
        !(o->crlf_rate >= 0 && o->crlf_rate <= 1)) {
        return bz_err_set(err, BZ_E_INVALID_INPUT,
                          "feedgen: error, duplicate and CRLF rates must be between 0 and 1");
    }
    if (rate_ppb(o->error_rate) + (uint64_t)rate_ppb(o->dup_rate) > PPB) {
        return bz_err_set(err, BZ_E_INVALID_INPUT,
                          "feedgen: error rate + duplicate rate must not exceed 1 (got %g + %g)",
                          o->error_rate, o->dup_rate);
    }
    return BZ_OK;
}

static void gen_release(struct gen *g)
{
    size_t c;

    if (g->slots != NULL) {
        for (c = 0; c < g->ncols; c++) {
            buf_release(&g->slots[c]);
        }
    }
    free(g->slots);
    free(g->plan);
    free(g->best_order);
    free(g->best_line);
    free(g->aux);
    free(g->line_info);
    buf_release(&g->line);
    buf_release(&g->obuf);
}

int feedgen_write(const struct feedgen_options *o, FILE *out, FILE *expect_lines,
                  struct feedgen_expect *exp, struct bz_err *err)
{
    struct gen g;
    struct feedgen_expect local;
    uint64_t lineno, valid = 0;
    int rc = check_options(o, err);

    if (exp == NULL) {
        exp = &local;
    }
    memset(exp, 0, sizeof(*exp));
    if (rc != BZ_OK) {
        return rc;
    }
    memset(&g, 0, sizeof(g));
    g.o = o;
    g.t = o->table;
    g.ncols = o->table->ncolumns;
    g.seed = o->seed;
    g.exp = exp;
    g.out = out;
    rc = plan_table(&g, err);
    if (rc != BZ_OK) {
        gen_release(&g);
        return rc;
    }
    build_cycle(&g);
    g.err_ppb = rate_ppb(o->error_rate);
    g.dup_ppb = rate_ppb(o->dup_rate);
    g.crlf_ppb = rate_ppb(o->crlf_rate);
    xo_seed(&g.rng, hash3(o->seed, 0x6665656467656EULL, 0));
    g.slots = xcalloc(g.ncols, sizeof(*g.slots));
    buf_init(&g.line);
    buf_init(&g.obuf);
    buf_reserve(&g.obuf, OUT_FLUSH + 65536);
    g.next_aux = advance_aux(&g, UINT64_MAX);
    /* business days run up to 2026-11-24 for a file of average receipts (3 lines each) */
    g.day0 = field_days_from_civil(2026, 11, 24) -
             (int64_t)(o->rows / 3 / ((uint64_t)NSTORES * NREGISTERS * PER_DAY)) - 1;
    if (expect_lines != NULL) {
        g.line_info = xmalloc((o->rows ? o->rows : 1) * sizeof(*g.line_info));
    }
    if (o->bom) {
        put_str(&g.obuf, "\xEF\xBB\xBF");
    }
    for (lineno = 1; lineno <= o->rows; lineno++) {
        uint32_t u = xo_below(&g.rng, PPB);
        if (u < g.err_ppb) {
            line_invalid(&g, lineno);
        } else {
            if (u < g.err_ppb + g.dup_ppb && g.nkeys > 0) {
                line_dup(&g, lineno);
            } else {
                line_new(&g, lineno);
            }
            valid++;
        }
        emit_line(&g, lineno);
        if (g.write_errno != 0) {
            break;
        }
    }
    out_flush(&g);
    if (g.write_errno == 0 && fflush(out) != 0) {
        g.write_errno = errno ? errno : EIO;
    }
    if (g.write_errno != 0) {
        rc = bz_err_set(err, BZ_E_IO, "cannot write the feed: %s", strerror(g.write_errno));
    }
    exp->lines = o->rows;
    exp->loaded = g.nkeys;
    exp->rejected_duplicate = valid - g.nkeys;
    exp->bytes = g.bytes;
    if (rc == BZ_OK && expect_lines != NULL) {
        rc = write_expect(&g, expect_lines, err);
        if (rc == BZ_OK && fflush(expect_lines) != 0) {
            rc =
                bz_err_set(err, BZ_E_IO, "cannot write the expect-lines file: %s", strerror(errno));
        }
    }
    gen_release(&g);
    return rc;
}
