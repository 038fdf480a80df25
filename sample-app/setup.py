"""sampleapp: a small TurboGears2 site that shows tgapp-activitystream at work."""

from setuptools import find_packages, setup

setup(
    name='sampleapp',
    version='0.1.0',
    description='Demo site for tgapp-activitystream: posts, comments, follows, notifications',
    python_requires='>=3.10',
    packages=find_packages(include=['sampleapp', 'sampleapp.*']),
    package_data={'sampleapp': ['templates/*.xhtml', 'public/css/*.css']},
    zip_safe=False,
    install_requires=[
        # the pre-release bound keeps pip on this repository's version, not PyPI's 0.1.1
        'tgapp-activitystream[sqlalchemy] >= 1.0.0.dev0',
        'TurboGears2 >= 2.5.0, < 2.6',
        'tgext.pluggable >= 0.9.0, < 0.10',
        'kajiki >= 0.9',
        'repoze.who >= 3.0',
        'gearbox',
        'waitress',
        'PasteDeploy',
    ],
    extras_require={
        'ming': ['tgapp-activitystream[ming] >= 0.2.0.dev0'],
        'postgresql': ['psycopg2-binary >= 2.9'],
    },
    entry_points={
        'paste.app_factory': ['main = sampleapp.config.middleware:make_app'],
    },
)
