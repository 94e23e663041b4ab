/* A program embedding a library with PyPI packages whose wheels have C extensions. */
#include <rules_py_standalone/embed.h>

#include <stdio.h>

int main(void) {
    rps_embed_config config = RPS_EMBED_CONFIG_INIT;
    rps_embed_configure(&config);
    rps_embed_value args[] = {RPS_EMBED_STR_VALUE("html: <b>&</b>")};
    rps_embed_result result;
    rps_embed_status status = rps_embed_call("pypi_calls", "render", args, 1, &result);
    printf("%s: %s\n", rps_embed_status_name(status), status == RPS_EMBED_OK ? result.data : rps_embed_last_error());
    if (status == RPS_EMBED_OK) rps_embed_result_free(&result);
    return rps_embed_finalize() == RPS_EMBED_OK && status == RPS_EMBED_OK ? 0 : 1;
}
