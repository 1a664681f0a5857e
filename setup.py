"""Install mmcmd next to an existing MMAction2 environment."""
import os.path as osp

from setuptools import find_packages, setup

ROOT = osp.dirname(osp.abspath(__file__))


def read_version() -> str:
    scope: dict = {}
    with open(osp.join(ROOT, 'mmcmd', 'version.py')) as f:
        exec(f.read(), scope)
    return scope['__version__']


setup(
    name='mmcmd',
    version=read_version(),
    description='Self-supervised video representation learning by Context '
    'and Motion Decoupling (CMD, CVPR 2021), an MMAction2 plugin',
    long_description=open(osp.join(ROOT, 'README.md')).read(),
    long_description_content_type='text/markdown',
    license='Apache-2.0',
    python_requires='>=3.9',
    packages=find_packages(include=['mmcmd', 'mmcmd.*']),
    # mmcv (or mmcv-lite) and torch come from the user's MMAction2
    # environment; see README.md for a working stack.
    install_requires=[
        'torch>=2.1,<3',
        'mmengine>=0.10.5,<1.0',
        'mmaction2>=1.2.0,<1.3',
        'av>=12',
        'numpy',
        'scipy',
        'tqdm',
        'importlib_metadata',
    ],
    extras_require={
        'tests': ['pytest>=7', 'pytest-timeout'],
        'search': ['faiss-cpu'],
    },
    entry_points={
        'console_scripts': [
            'mmcmd-train=mmcmd.cli.train:cli',
            'mmcmd-test=mmcmd.cli.test:cli',
        ],
    },
    classifiers=[
        'Programming Language :: Python :: 3',
        'Topic :: Scientific/Engineering :: Artificial Intelligence',
    ],
)
