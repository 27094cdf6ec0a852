/* web_assets.c: the lookup over the embedded page files. The table itself
 * (web_assets_table, web_assets_count) is generated from web/ by
 * embed.cmake at build time; this file only finds entries in it. */
#include <string.h>
#include "web_assets_table.h"

const web_asset *web_asset_find(const char *path)
{
    if (!path)
        return NULL;
    /* The page's canonical URL is "/": the browser never asks for the file name. */
    if (strcmp(path, "/") == 0)
        path = "/index.html";
    for (size_t i = 0; i < web_assets_count; i++)
        if (strcmp(web_assets_table[i].path, path) == 0)
            return &web_assets_table[i];
    return NULL;
}
