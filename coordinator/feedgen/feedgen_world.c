/* feedgen_world.c - the entity universe every generated file shares: products, makers,
 * stores and members, their attributes, their names and their codes (JAN, card number, store
 * code).
 *
 * Entities are the same in every file whatever the seed: item 4912345678904 has the same name
 * in a journal file and in an items file, and a journal's store codes and member ids exist in
 * stores and members files of enough rows. Owns the name tables; nothing outside reads them. */
#include "coordinator/feedgen/feedgen_internal.h"

#include <string.h>

#include "parse/field.h"

/* ---- the entity universe ----------------------------------------------------------------- */

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

void feedgen_item_attrs(uint64_t idx, struct item_attr *a)
{
    uint64_t x = feedgen_hash3(UNIVERSE, 'I', idx);

    a->p = &products[feedgen_sm_below(&x, NPRODUCTS)];
    a->origin = a->p->fresh && feedgen_sm_chance(&x, 40) ? (int)feedgen_sm_below(&x, NORIGINS) : -1;
    a->sized = a->p->size[0] != '\0' && feedgen_sm_chance(&x, 80);
    a->maker = feedgen_sm_chance(&x, 88) ? (int)feedgen_sm_below(&x, NMAKERS) : -1;
    /* list price varies a little between items of the same product: 0..+30% in whole yen */
    a->price_sen = ((int64_t)a->p->yen * (100 + feedgen_sm_below(&x, 31)) / 100) * 100;
    a->has_kana = feedgen_sm_chance(&x, 92);
    a->has_category = feedgen_sm_chance(&x, 97);
    a->sales_start = feedgen_sm_chance(&x, 75)
                         ? field_days_from_civil(2015, 1, 1) + (int64_t)feedgen_sm_below(&x, 4300)
                         : -1;
    a->sales_end = a->sales_start >= 0 && feedgen_sm_chance(&x, 8)
                       ? a->sales_start + 30 + feedgen_sm_below(&x, 700)
                       : -1;
}

void feedgen_store_attrs(uint64_t idx, struct store_attr *a)
{
    uint64_t x = feedgen_hash3(UNIVERSE, 'S', idx);

    a->chain = (int)feedgen_sm_below(&x, NCHAINS);
    a->area = (int)feedgen_sm_below(&x, NAREAS);
    a->opened = feedgen_sm_chance(&x, 95)
                    ? field_days_from_civil(1975, 4, 1) + (int64_t)feedgen_sm_below(&x, 18000)
                    : -1;
    a->closed = a->opened >= 0 && feedgen_sm_chance(&x, 5)
                    ? a->opened + 365 + feedgen_sm_below(&x, 3000)
                    : -1;
    a->floor_tenths = feedgen_sm_chance(&x, 92) ? 3000 + (int64_t)feedgen_sm_below(&x, 90000) : -1;
    a->has_prefecture = feedgen_sm_chance(&x, 97);
}

void feedgen_member_attrs(uint64_t idx, struct member_attr *a)
{
    uint64_t x = feedgen_hash3(UNIVERSE, 'M', idx);
    uint32_t g = feedgen_sm_below(&x, 100), area, town;
    bool hyphen;

    a->gender = g < 46 ? '1' : g < 92 ? '2' : g < 96 ? '9' : 0;
    a->birth = feedgen_sm_chance(&x, 88)
                   ? field_days_from_civil(1935, 1, 1) + (int64_t)feedgen_sm_below(&x, 26500)
                   : -1;
    a->joined = field_days_from_civil(2005, 4, 1) + (int64_t)feedgen_sm_below(&x, 7900);
    a->withdrawn = feedgen_sm_chance(&x, 3) ? a->joined + 1 + feedgen_sm_below(&x, 1500) : -1;
    area = feedgen_sm_below(&x, 1000);
    town = feedgen_sm_below(&x, 10000);
    hyphen = feedgen_sm_chance(&x, 80); /* "060-0806", or "0600806" as some systems store it */
    memset(a->postal, 0, sizeof(a->postal));
    feedgen_digits_at(a->postal, (int)area, 3);
    if (hyphen) {
        a->postal[3] = '-';
    }
    feedgen_digits_at(a->postal + (hyphen ? 4 : 3), (int)town, 4);
    a->has_postal = feedgen_sm_chance(&x, 90);
    a->home_store = feedgen_sm_chance(&x, 95) ? feedgen_sm_below(&x, NSTORES) : NSTORES;
    a->points = (int64_t)feedgen_sm_below(&x, 30000);
}

void feedgen_put_item_name(struct buf *b, const struct item_attr *a, bool kana)
{
    if (a->origin >= 0) {
        feedgen_put_str(b, kana ? origins[a->origin].kana : origins[a->origin].name);
        buf_append_char(b, ' ');
    }
    feedgen_put_str(b, kana ? a->p->kana : a->p->name);
    if (a->sized) {
        buf_append_char(b, ' ');
        feedgen_put_str(b, a->p->size);
    }
}

void feedgen_put_maker(struct buf *b, int maker)
{
    feedgen_put_str(b, makers[maker]);
}

void feedgen_put_store_name(struct buf *b, const struct store_attr *a)
{
    feedgen_put_str(b, chains[a->chain]);
    buf_append_char(b, ' ');
    feedgen_put_str(b, areas[a->area].name);
    feedgen_put_str(b, "店");
}

void feedgen_put_prefecture(struct buf *b, const struct store_attr *a)
{
    feedgen_put_str(b, prefectures[areas[a->area].prefecture]);
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
void feedgen_put_jan(struct buf *b, uint64_t idx)
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
void feedgen_put_card(struct buf *b, uint64_t idx)
{
    uint64_t v = mulmod_sq(idx % 100000000000000ULL, 1234567, 10000000);

    v = mulmod_sq((v + 31415926535ULL) % 100000000000000ULL, 2718281, 10000000);
    feedgen_put_str(b, "29");
    feedgen_put_pad(b, v, 14);
}

/* Store index -> "0001".."9999", then "10000"...: injective (only codes < 1000 are padded). */
void feedgen_put_store_code(struct buf *b, uint64_t idx)
{
    feedgen_put_pad(b, idx + 1, 4);
}
