"""Lab servers only: keep the bytecode of modules imported from zip files (Ansible's module payloads).

Ansible sends every module as a zip of its source, and Python compiles what it imports from a zip on
every run (zipimport writes no .pyc). The lab's servers share the controller's two cores, so each module
run's compile of ansible.module_utils slows every check; a real server compiles on its own CPU. The
compiled code is cached per user, keyed by the sha256 of the source, and gets the zip's path as its file
name, as a .pyc would: nothing a module does or reports changes."""

import _imp
import marshal
import os
import pwd
import sys
import zipimport

_compile_source = zipimport._compile_source


def _cache_dir():
    # Per user (modules run as the SSH user and, through sudo, as root) and Python release (marshal's format).
    return os.path.join(pwd.getpwuid(os.geteuid()).pw_dir, ".cache", "djangoops-lab-zipcache", sys.implementation.cache_tag)


def _cached_compile_source(pathname, source):
    import hashlib  # here: every start of python3 imports this file, few import from a zip

    path = os.path.join(_cache_dir(), hashlib.sha256(source).hexdigest())
    try:
        with open(path, "rb") as cached:
            code = marshal.load(cached)
    except (OSError, EOFError, ValueError, TypeError):
        code = _compile_source(pathname, source)
        try:
            os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
            partial = "%s.%d" % (path, os.getpid())
            with open(partial, "wb") as written:
                marshal.dump(code, written)
            os.replace(partial, path)
        except OSError:
            pass
    else:
        _imp._fix_co_filename(code, pathname)
    return code


zipimport._compile_source = _cached_compile_source
