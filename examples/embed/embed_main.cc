// A C++ program with its own main() that uses Python for scripting (docs/embedding.md).
//
// It uses C++ but not its standard library: this repository's zig toolchain compiles C++ as the
// C toolchain does, without linking libc++ (docs/embedding.md, "Limits").
#include <rules_py_standalone/embed.h>

#include <stdio.h>
#include <string.h>

namespace {

// A call's result, freed when it goes out of scope.
class Result {
  public:
    Result() = default;
    Result(const Result &) = delete;
    Result &operator=(const Result &) = delete;
    ~Result() { rps_embed_result_free(&value_); }
    rps_embed_result *get() { return &value_; }
    const char *text() const { return value_.data ? value_.data : "None"; }

  private:
    rps_embed_result value_{};
};

// The last line of the error text: the exception's type and message.
const char *last_line(const char *error) {
    size_t n = strlen(error);
    while (n > 0 && error[n - 1] == '\n') n--;
    const char *line = error + n;
    while (line > error && line[-1] != '\n') line--;
    static char buffer[512];
    snprintf(buffer, sizeof buffer, "%.*s", (int)(error + n - line), line);
    return buffer;
}

// Calls module.function(*args) and prints the result, or the error's last line.
template <size_t N>
void call(const char *module, const char *function, const rps_embed_value (&args)[N]) {
    Result result;
    rps_embed_status status = rps_embed_call(module, function, args, N, result.get());
    if (status == RPS_EMBED_OK)
        printf("%s.%s -> %s\n", module, function, result.text());
    else
        printf("%s.%s failed (%s): %s\n", module, function, rps_embed_status_name(status),
               last_line(rps_embed_last_error()));
}

}  // namespace

int main(int argc, char **argv) {
    rps_embed_config config = RPS_EMBED_CONFIG_INIT;
    const char *python_argv[] = {"report", "--verbose"};
    config.argc = 2;
    config.argv = python_argv;
    if (rps_embed_configure(&config) != RPS_EMBED_OK) {
        fprintf(stderr, "%s\n", rps_embed_last_error());
        return 1;
    }
    printf("C++ main started with %d argument(s); Python is not running yet\n", argc - 1);

    const rps_embed_value greet_args[] = {RPS_EMBED_STR_VALUE("C++"), RPS_EMBED_STR_VALUE("2")};
    call("greeter", "greet", greet_args);  // starts the interpreter
    static const unsigned char bytes[] = {1, 2, 3, 250};
    const rps_embed_value checksum_args[] = {RPS_EMBED_BYTES_VALUE(bytes, sizeof bytes)};
    call("greeter", "checksum", checksum_args);
    const rps_embed_value divide_args[] = {RPS_EMBED_STR_VALUE("1"), RPS_EMBED_STR_VALUE("0")};
    call("greeter", "divide", divide_args);  // raises in Python; the program goes on

    // Python's sys.stdout has its own buffer: flush ours first so the lines stay in order.
    fflush(stdout);
    int exit_status = -1;
    if (rps_embed_run_module("plugins.report", &exit_status) != RPS_EMBED_OK)
        fprintf(stderr, "%s\n", rps_embed_last_error());
    rps_embed_run_string("import sys; sys.stdout.flush()");
    printf("plugin exit status %d\n", exit_status);

    if (rps_embed_finalize() != RPS_EMBED_OK) fprintf(stderr, "%s\n", rps_embed_last_error());
    call("greeter", "greet", greet_args);  // after finalize: a clear error, no crash
    return 0;
}
