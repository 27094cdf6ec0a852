/* read_numbers.c: the --numbers evaluation of mnist-eval: each image
 * decoded (images.c), its digits found and normalised by
 * mn_segment_image, classified by the model left to right, and the text
 * compared with the label. The same path as the server's POST /v1/read. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "images.h"
#include "read_numbers.h"

#define MAX_DIGITS 32
#define MAX_KINDS 32

typedef struct {
    char name[64];
    int total, correct;
} kind_count;

/* Splits a CSV line (no quoting: the list's fields hold no commas) into
 * at most n fields in place; returns their count. */
static int split_csv(char *line, char **f, int n)
{
    int k = 0;
    line[strcspn(line, "\r\n")] = '\0';
    for (char *p = line; k < n;) {
        f[k++] = p;
        p = strchr(p, ',');
        if (!p)
            break;
        *p++ = '\0';
    }
    return k;
}

/* The text the model reads in the image at path, or an error note. */
static void read_image(const mn_ensemble *e, mn_ensemble_ws *ws, const char *path, char *text,
                       size_t len)
{
    img_decoded img;
    char why[512];
    if (images_decode_file(path, &img, why, sizeof why) != 0) {
        snprintf(text, len, "<cannot decode: %.100s>", why);
        return;
    }
    static uint8_t px[MAX_DIGITS][MN_PIXELS];
    static float in[MAX_DIGITS * MN_PIXELS], probs[MAX_DIGITS * 256], score[MAX_DIGITS];
    int n = 0;
    mn_error err;
    mn_status st = mn_segment_image(img.pix, img.w, img.h, img.channels, MAX_DIGITS, NULL, px, &n,
                                    &err);
    img_free(&img);
    if (st != MN_OK) {
        snprintf(text, len, "<%.40s>", err.msg);
        return;
    }
    for (int i = 0; i < n; i++)
        mn_pixels_to_input(px[i], in + (size_t)i * MN_PIXELS);
    mn_ensemble_forward(e, ws, in, n, probs, score);
    /* The server's answer for each part; a part that is not a digit
     * stands as '?'. */
    const uint32_t C = mn_ensemble_classes(e);
    size_t k = 0;
    for (int i = 0; i < n && k + 1 < len; i++) {
        const float *served = probs + (size_t)i * C;
        uint32_t best = 0;
        for (uint32_t c = 1; c < C; c++)
            best = served[c] > served[best] ? c : best;
        int digit = mn_verdict_of(&e->calib, served[best], score[i]) != MN_VERDICT_NOT_A_DIGIT;
        text[k++] = digit ? (char)('0' + best % 10) : '?';
    }
    text[k] = '\0';
}

int read_numbers_eval(const mn_ensemble *e, const char *dir, int verbose)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/labels.csv", dir);
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "mnist-eval: cannot open %s\n", path);
        return 1;
    }
    mn_ensemble_ws *ws;
    mn_error err;
    if (mn_ensemble_ws_create(e, MAX_DIGITS, &ws, &err) != MN_OK) {
        fprintf(stderr, "mnist-eval: %s\n", err.msg);
        fclose(f);
        return 1;
    }
    char line[1024];
    char *cols[16];
    int c_file = -1, c_text = -1, c_kind = -1;
    int nc = fgets(line, sizeof line, f) ? split_csv(line, cols, 16) : 0;
    for (int i = 0; i < nc; i++) {
        if (!strcmp(cols[i], "file")) c_file = i;
        if (!strcmp(cols[i], "text")) c_text = i;
        if (!strcmp(cols[i], "kind")) c_kind = i;
    }
    if (c_file < 0 || c_text < 0) {
        fprintf(stderr, "mnist-eval: %s: the header needs the columns file and text\n", path);
        mn_ensemble_ws_free(ws);
        fclose(f);
        return 1;
    }
    kind_count kinds[MAX_KINDS + 1] = {{"all", 0, 0}};
    int n_kinds = 1;
    while (fgets(line, sizeof line, f)) {
        int k = split_csv(line, cols, 16);
        if (k <= c_file || k <= c_text || !cols[c_file][0])
            continue;
        const char *kind = c_kind >= 0 && k > c_kind ? cols[c_kind] : "-";
        int ki = 1;
        while (ki < n_kinds && strcmp(kinds[ki].name, kind))
            ki++;
        if (ki == n_kinds && n_kinds <= MAX_KINDS)
            snprintf(kinds[n_kinds++].name, sizeof kinds[0].name, "%s", kind);
        char img[4096 + 1100], text[128];
        snprintf(img, sizeof img, "%s/%s", dir, cols[c_file]);
        read_image(e, ws, img, text, sizeof text);
        int ok = !strcmp(text, cols[c_text]);
        kinds[0].total++, kinds[0].correct += ok;
        if (ki < n_kinds) /* past MAX_KINDS kinds only the total counts */
            kinds[ki].total++, kinds[ki].correct += ok;
        if (verbose && !ok)
            printf("miss: %s: read %s, label %s\n", cols[c_file], text, cols[c_text]);
    }
    fclose(f);
    mn_ensemble_ws_free(ws);
    for (int i = 1; i < n_kinds; i++)
        printf("%s: %d/%d (%.3f)\n", kinds[i].name, kinds[i].correct, kinds[i].total,
               kinds[i].total ? (double)kinds[i].correct / kinds[i].total : 0.0);
    printf("exact text: %d/%d (%.3f)\n", kinds[0].correct, kinds[0].total,
           kinds[0].total ? (double)kinds[0].correct / kinds[0].total : 0.0);
    return 0;
}
