"""Programs that run *inside* the sandbox container (stdlib only, Python >= 3.9).

They are shipped as source text (see `sandgym.envs.code.programs`), never imported by
the host at run time except in unit tests of the codec. ``worker.py`` is untrusted-side
glue that loads the model's answer and answers calls; ``judge.py`` and
``shell_judge.py`` are the trusted graders that run as the judge uid.
"""
