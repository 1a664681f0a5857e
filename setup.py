"""Install mmcmd next to an existing MMAction2 environment."""
import os.path as osp

from setuptools import find_packages, setup

ROOT = osp.dirname(osp.abspath(__file__))


def read_requirements(name: str) -> list:
    """The requirement lines of requirements/<name>, comments dropped."""
    with open(osp.join(ROOT, 'requirements', name)) as f:
        lines = (line.split('#', 1)[0].strip() for line in f)
        return [line for line in lines if line]


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
    # requirements/runtime.txt, plus torch and mmaction2 as ranges: a user's
    # MMAction2 environment (CUDA build of torch) is kept. The exact stack
    # that is tested: requirements/torch.txt and requirements/mmaction.txt.
    install_requires=(['torch>=2.1,<3'] + read_requirements('runtime.txt') +
                      ['mmaction2>=1.2.0,<1.3']),
    extras_require={
        'tests': read_requirements('tests.txt'),
        'search': ['faiss-cpu'],
    },
    classifiers=[
        'Programming Language :: Python :: 3',
        'Topic :: Scientific/Engineering :: Artificial Intelligence',
    ],
)
