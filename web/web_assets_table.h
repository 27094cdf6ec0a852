/* web_assets_table.h: the table that embed.cmake generates from web/, shared
 * by the generated file (which defines it) and web_assets.c (which searches
 * it), so both agree on its type. Internal to mnist_web_assets. */
#ifndef MNIST_WEB_ASSETS_TABLE_H
#define MNIST_WEB_ASSETS_TABLE_H

#include "web_assets.h"

extern const web_asset web_assets_table[];
extern const size_t web_assets_count;

#endif
