"""The one way user strings reach generated source.

Layer, model, input, output, metric and function names, scopes and config values are data. They
enter generated C and Python only through the functions here:

- ``identifier``: an ASCII identifier ``[A-Za-z][A-Za-z0-9_]*``, unchanged for a plain name, else
  the name made safe with a short hash of the original appended, so two different names never
  meet in one identifier; bounded in length. ``function_name`` for a generated function's own.
- ``UniqueNames``: identifiers unique within one generated function.
- ``c_comment`` / ``python_comment``: text that cannot end the comment (or docstring) it sits in.

Each target has one reserved list (``C_RESERVED``, ``PYTHON_RESERVED``) plus a few reserved
shapes of name (prefixes the generated code uses, macro-like names); a C module's exported
function also avoids the C library (``C_LIBRARY``). Names shared by both backends avoid both
targets' words.
"""

import builtins
import hashlib
import keyword
import re

# ----------------------------------------------------------------------------- reserved words

_C_KEYWORDS = """
    auto break case char const continue default do double else enum extern float for goto if
    inline int long register restrict return short signed sizeof static struct switch typedef
    union unsigned void volatile while _Alignas _Alignof _Atomic _Bool _Complex _Generic
    _Imaginary _Noreturn _Static_assert _Thread_local alignas alignof bool constexpr false
    nullptr static_assert thread_local true typeof typeof_unqual asm fortran
"""

# Lower-case macros and typedefs of the headers the generated file (or cffi's wrapper around it,
# which includes Python.h) can see. A macro applies in every scope, so no local may take these.
_C_MACROS_AND_TYPES = """
    errno assert offsetof va_list va_start va_arg va_end va_copy stdin stdout stderr
    isnan isinf isfinite isnormal signbit fpclassify isgreater isgreaterequal isless
    islessequal islessgreater isunordered math_errhandling complex imaginary I
    linux unix i386 i686 x86_64 jmp_buf setjmp sigsetjmp alloca major minor makedev
"""

# Each has float (f) and long double (l) variants too.
_C_MATH = """
    acos asin atan atan2 cos sin tan acosh asinh atanh cosh sinh tanh exp exp2 exp10 expm1 frexp
    ldexp log log10 log1p log2 logb modf scalbn scalbln cbrt fabs hypot pow pow10 sqrt erf erfc
    lgamma tgamma gamma ceil floor nearbyint rint lrint llrint round lround llround trunc fmod
    remainder remquo copysign nan nextafter nexttoward fdim fmax fmin fma ilogb j0 j1 jn y0 y1
    yn drem finite scalb significand sincos
"""

# Names the generated C itself declares or calls.
_C_GENERATED = "batch args workspace memcpy memset memmove"

# No identifier of generated C may take these.
C_RESERVED = frozenset(
    _C_KEYWORDS.split() + _C_MACROS_AND_TYPES.split() + _C_GENERATED.split()
    + [name + suffix for name in _C_MATH.split() for suffix in ("", "f", "l")])

# C library functions: the exported function links beside them, so it may take none of these
# names (a local or a field may: it only shadows them where the generated code never calls them).
C_LIBRARY = frozenset("""
    main printf fprintf sprintf snprintf vprintf vfprintf vsprintf vsnprintf dprintf scanf fscanf
    sscanf vscanf vfscanf vsscanf fopen freopen fdopen fmemopen fclose fflush fread fwrite fgetc
    fgets fputc fputs getc getchar gets putc putchar puts ungetc fseek ftell rewind fgetpos
    fsetpos clearerr feof ferror perror remove rename tmpfile tmpnam setbuf setvbuf fileno popen
    pclose getline getdelim
    malloc calloc realloc free aligned_alloc posix_memalign memalign valloc pvalloc abort exit
    quick_exit at_quick_exit atexit getenv secure_getenv setenv unsetenv putenv clearenv system
    abs labs llabs div ldiv lldiv atoi atol atoll atof strtol strtoll strtoul strtoull strtod
    strtof strtold rand rand_r srand random srandom drand48 lrand48 mrand48 srand48 erand48
    qsort bsearch mblen mbtowc wctomb mbstowcs wcstombs realpath mkstemp mkdtemp mktemp
    memcmp memchr memrchr memmem mempcpy memccpy strcpy strncpy strcat
    strncat strcmp strncmp strcoll strxfrm strchr strrchr strspn strcspn strpbrk strstr strtok
    strtok_r strlen strnlen strerror strerror_r strdup strndup strsep strsignal stpcpy stpncpy
    strcasecmp strncasecmp index rindex bzero bcopy bcmp ffs explicit_bzero
    read write open close creat lseek pipe dup dup2 fork vfork execl execlp execle execv execvp
    execve getpid getppid getuid geteuid getgid getegid kill sleep usleep nanosleep alarm pause
    chdir fchdir getcwd unlink rmdir mkdir link symlink readlink access chmod chown isatty sync
    fsync truncate ftruncate mmap munmap mprotect brk sbrk sysconf pathconf getopt select poll
    ioctl fcntl socket connect bind listen accept send recv stat fstat lstat umask dlopen dlsym
    dlclose dlerror pthread_create pthread_join
    signal raise sigaction sigemptyset sigfillset sigaddset longjmp siglongjmp
    time clock difftime mktime strftime strptime gmtime localtime asctime ctime gettimeofday
    clock_gettime tzset timespec timeval environ timezone daylight tzname optarg optind opterr optopt
    isalnum isalpha isblank iscntrl isdigit isgraph islower isprint ispunct isspace isupper
    isxdigit tolower toupper isascii toascii setlocale localeconv
""".split())

# Prefixes of the generated code's own names, the BLAS it calls and the CPython headers.
_C_RESERVED_PREFIXES = ("sk_", "SK_", "cblas", "Cblas", "CBLAS", "openblas", "scipy_", "Py", "PY",
                        "cffi")

# The module-level names of a generated NumPy module (template and the random generator copied
# into it) and the generated function's own parameters.
_PYTHON_GENERATED = """
    np batch workspace workspace_bytes workspace_views _regions _REGIONS
    _sk_sigmoid _sk_softplus _sk_random _GOLDEN _M1 _M2 _mix _key _bits _fraction
"""

PYTHON_RESERVED = frozenset(keyword.kwlist + getattr(keyword, "softkwlist", []) + dir(builtins)
                            + _PYTHON_GENERATED.split())

_PYTHON_RESERVED_PREFIXES = ("sk_", "_sk_")


def c_reserved(name):
    """Whether ``name`` may not be a C identifier of generated code."""
    return (name in C_RESERVED or name.startswith(_C_RESERVED_PREFIXES)
            or name.startswith("_")                 # the implementation's (and cffi's) names
            or name.endswith("_t")                  # POSIX types
            or (len(name) > 1 and not any(c.islower() for c in name)))   # macro-like: EOF, NULL


def python_reserved(name):
    """Whether ``name`` may not be a Python identifier of a generated module."""
    return name in PYTHON_RESERVED or name.startswith(_PYTHON_RESERVED_PREFIXES) or name.startswith("__")


def reserved(name):
    """Reserved in either target: the rule for names a Program shares between backends."""
    return c_reserved(name) or python_reserved(name)


def exported_reserved(name):
    """The rule for a generated function's own name, which a C module exports."""
    return reserved(name) or name in C_LIBRARY


# ----------------------------------------------------------------------------- identifiers

MAX_IDENTIFIER = 64
_HASH_LENGTH = 8
_PLAIN = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")
_NOT_IDENTIFIER = re.compile(r"[^A-Za-z0-9_]+")     # explicit: re's \w would admit any letter


def _digest(text):
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:_HASH_LENGTH]


def _shortened(base, budget):
    """A long name keeps its start and its end (``…_kernel_m``): they tell names apart best."""
    if len(base) <= budget:
        return base
    half = (budget - 1) // 2
    return base[:half].rstrip("_") + "_" + base[-half:].lstrip("_")


def identifier(text, is_reserved=reserved, fallback="v"):
    """``text`` as an identifier of generated code.

    A plain name is kept (``/`` between scope and weight name reads as ``_``: ``dense_1/kernel``
    is ``dense_1_kernel``); any other is made safe and gets a hash of the original text."""
    text = "" if text is None else str(text)
    name = text.replace("/", "_")
    if _PLAIN.match(name) and len(name) <= MAX_IDENTIFIER and not is_reserved(name):
        return name
    base = _NOT_IDENTIFIER.sub("_", name).strip("_") or fallback
    name = f"{_shortened(base, MAX_IDENTIFIER - _HASH_LENGTH - 3)}_{_digest(text)}"
    # A digit first, or a reserved shape (sk_…, Py…, EOF_…) kept by the hash: prefix a letter.
    return name if name[0].isalpha() and not is_reserved(name) else "v_" + name


def size_name(input_name, axis):
    """The name of the size symbol for the unknown axis ``axis`` of an input (``signal_1``): it
    becomes a local and an argument of generated code in both targets."""
    return identifier(f"{input_name}_{axis}", fallback="size")


def function_name(text):
    """The name of a generated function (the C symbol and the Python function)."""
    return identifier(text, exported_reserved, fallback="function")


class UniqueNames:
    """Identifiers unique within one generated function; a repeat gets ``_1``, ``_2`` …"""

    def __init__(self, is_reserved=reserved, taken=()):
        self.is_reserved = is_reserved
        self.taken = set(taken)

    def __call__(self, text, fallback="v"):
        base = identifier(text, self.is_reserved, fallback)
        name, k = base, 1
        while name in self.taken or self.is_reserved(name):
            # ``U_1`` would read as a macro to C: such a base repeats as ``U_v1``.
            name = f"{base}_{k}" if not self.is_reserved(f"{base}_{k}") else f"{base}_v{k}"
            k += 1
        self.taken.add(name)
        return name


# ----------------------------------------------------------------------------- comments

MAX_COMMENT = 2000


def _visible_ascii(text, unsafe):
    """Printable ASCII kept; any other character, and those in ``unsafe``, written <U+XXXX>."""
    return "".join(c if " " <= c <= "~" and c not in unsafe else f"<U+{ord(c):04X}>" for c in str(text))


def _bounded(text):
    return text if len(text) <= MAX_COMMENT else text[:MAX_COMMENT - 3] + "..."


def c_comment(text):
    """``text`` for the inside of a C ``/* … */`` comment: one line, ASCII, no backslash (line
    splices), no ``*/`` or ``/*``, no ``??`` (trigraphs: ``??/`` is a backslash)."""
    text = _visible_ascii(text, unsafe="\\")
    text = re.sub(r"\*(?=/)", "* ", text)
    text = re.sub(r"/(?=\*)", "/ ", text)
    text = re.sub(r"\?(?=\?)", "? ", text)
    # Spaced from the comment's own delimiters whatever the template puts around it.
    text = (" " if text.startswith(("*", "/")) else "") + text + (" " if text.endswith(("*", "/", "?")) else "")
    return _bounded(text)


def python_comment(text):
    """``text`` for a Python ``#`` comment or a ``\"\"\"`` docstring: one line, ASCII, no backslash
    (escapes) and no double quote (it could close the docstring)."""
    return _bounded(_visible_ascii(text, unsafe='\\').replace('"', "'"))
