"""Compiled Jinja templates shared by Ansible's forked workers, on disk (the lab checks' controller only).

Each worker is a fork that runs one task on one host and exits, so the templates it compiles die with it: in a
deploy, about 5,000 compilations of the same few hundred strings took a third of the workers' CPU (a cProfile of
every worker, benchmarks/FINDINGS.md). Here ``Environment.compile`` of a template given as text keeps the code
object it returns in ``directory``, under a hash of everything the result depends on: the text, the name and file
name, the environment's syntax and code generator settings, Ansible's compile-time switches (backslash escaping,
embedded templates) and the versions of Python, Jinja and Ansible. A template is parsed and compiled once per
lab; what it renders to is untouched (rendering still happens in each worker, with that worker's variables).
Anything unexpected (template debugging on, an unreadable entry) falls back to Jinja's own compile. An entry
holds a template's text as constants, so it lives in the lab's own state directory (0700, beside the lab's
generated secrets), each file 0600."""

from __future__ import annotations

import hashlib
import marshal
import os
import sys
import tempfile
import types


def install(directory: str) -> None:
    import jinja2
    import jinja2.environment
    from ansible import release
    from ansible._internal._templating import _jinja_bits

    os.makedirs(directory, mode=0o700, exist_ok=True)
    compile_uncached = jinja2.environment.Environment.compile
    versions = (sys.version, jinja2.__version__, release.__version__)

    def settings(environment: jinja2.Environment) -> tuple:
        finalize = environment.finalize
        autoescape = environment.autoescape
        return (
            type(environment).__qualname__, environment.code_generator_class.__qualname__, type(environment.lexer).__qualname__,
            environment.block_start_string, environment.block_end_string, environment.variable_start_string,
            environment.variable_end_string, environment.comment_start_string, environment.comment_end_string,
            environment.line_statement_prefix, environment.line_comment_prefix, environment.trim_blocks,
            environment.lstrip_blocks, environment.newline_sequence, environment.keep_trailing_newline,
            tuple(sorted(environment.extensions)), environment.optimized, environment.is_async,
            autoescape if isinstance(autoescape, bool) else getattr(autoescape, "__qualname__", repr(autoescape)),
            getattr(finalize, "__qualname__", repr(finalize)),
        )

    def compile_cached(self, source, name=None, filename=None, raw=False, defer_init=False):
        if raw or not isinstance(source, str) or getattr(self, "_debuggable_template_source", False):
            return compile_uncached(self, source, name, filename, raw, defer_init)
        context = _jinja_bits._TemplateCompileContext.current(optional=True)
        key = repr((versions, settings(self), str(source), name, filename, defer_init,
                    bool(context and context.escape_backslashes), _jinja_bits._TemplateConfig.allow_embedded_templates))
        entry = os.path.join(directory, hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest())
        try:
            with open(entry, "rb") as cached:
                code = marshal.load(cached)
            if isinstance(code, types.CodeType):
                return code
        except (OSError, EOFError, ValueError, TypeError):
            pass
        code = compile_uncached(self, source, name, filename, raw, defer_init)
        # Written whole, then renamed: a worker reading at the same time sees all of it or nothing.
        try:
            handle, temporary = tempfile.mkstemp(dir=directory)
        except OSError:
            return code
        try:
            with os.fdopen(handle, "wb") as written:
                marshal.dump(code, written)
            os.replace(temporary, entry)
        except (OSError, ValueError):
            os.unlink(temporary)
        return code

    jinja2.environment.Environment.compile = compile_cached
