"""Build pshm, the Python binding of libpshm, against the installed library
(found with pkg-config: set PKG_CONFIG_PATH for a prefix of your own, and
PKG_CONFIG to a pkg-config with options of its own if need be).

    pip install --no-build-isolation ./python   (after make install; in a
                                   virtual environment made by Debian's
                                   /usr/bin/python3 with --system-site-packages)
"""
import os
import shlex
import subprocess

from setuptools import Extension, setup


def pkg_config(*args):
    # $PKG_CONFIG as autoconf reads it: a program and its own options
    command = shlex.split(os.environ.get("PKG_CONFIG", "pkg-config"))
    try:
        out = subprocess.run([*command, *args, "libpshm"], check=True,
                             capture_output=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError) as e:
        raise SystemExit("pshm: libpshm not found by pkg-config (make install it first, "
                         "and set PKG_CONFIG_PATH for its prefix): %s" % e)
    return shlex.split(out)


# Warnings are errors for the project's CI (PSHM_WERROR=1), never for a
# user's build with another compiler or Python.
werror = ["-Werror"] if os.environ.get("PSHM_WERROR") == "1" else []

cflags = pkg_config("--cflags")
libs = pkg_config("--libs")
libdirs = [f[2:] for f in libs if f.startswith("-L")]

setup(
    name="pshm",
    version="0.1.0",
    description="libpshm for Python: portable shared memory with robust locks",
    license="MIT",
    packages=["pshm"],
    ext_modules=[Extension(
        "pshm._pshm",
        sources=["src/module.c", "src/segment.c", "src/sync.c"],
        depends=["src/pshmpy.h"],
        include_dirs=[f[2:] for f in cflags if f.startswith("-I")],
        library_dirs=libdirs,
        runtime_library_dirs=libdirs,  # found where it was installed, without ldconfig
        libraries=[f[2:] for f in libs if f.startswith("-l")],
        extra_compile_args=["-std=c11", "-Wall", "-Wextra", *werror,
                            "-Wno-missing-field-initializers", "-Wno-cast-function-type"],
    )],
    python_requires=">=3.10",
)
