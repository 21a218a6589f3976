# The lab checks' controller only (molecule/default/tests/conftest.py puts this directory on PYTHONPATH for the
# playbooks the checks run): each of Ansible's worker processes is a fork of ansible-playbook that runs one task
# on one host and exits. A garbage collection in such a fork walks every object inherited from the parent and so
# copies the parent's memory, page by page, into the fork. Freezing what the fork inherits (gc.freeze) leaves the
# collector only the fork's own objects: about a tenth less controller CPU per run here (benchmarks/FINDINGS.md),
# and nothing a check can observe changes (the inherited objects stay alive in the parent anyway).
import gc
import os

os.register_at_fork(after_in_child=gc.freeze)

# And, where the checks ask for it, compiled Jinja templates shared by the forks on disk (djangoops_template_cache).
if os.environ.get("DJANGOOPS_LAB_TEMPLATE_CACHE"):
    try:
        import djangoops_template_cache
        djangoops_template_cache.install(os.environ["DJANGOOPS_LAB_TEMPLATE_CACHE"])
    except ImportError:  # a Python of this machine without Ansible: nothing to share
        pass
