"""``plug(base_config, 'activitystream')`` in a fresh ``gearbox quickstart`` project.

For a SQLAlchemy (``-s``) and a Ming (``-i``) quickstart with auth (``-a``):
the project's own tests still pass, ``gearbox setup-app`` runs our bootstrap
(and creates our tables on SQLAlchemy), and the API and controller work with
the quickstart's ``User``, which has no ``last_activity_seen``. The code of
``docs/tutorial.rst`` (its named blocks) is what these projects run.

Everything runs in subprocesses, since TG's configuration is process-global.
The projects are not pip-installed: ``egg_info`` writes the metadata that
``use = egg:<project>`` in their ini files needs, and PYTHONPATH does the rest.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import sqlalchemy as sa

import activitystream

pytestmark = pytest.mark.quickstart

GEARBOX = str(Path(sys.executable).with_name('gearbox'))
SOURCE_ROOT = str(Path(activitystream.__file__).resolve().parents[1])
TUTORIAL = Path(SOURCE_ROOT, 'docs', 'tutorial.rst')


def tutorial_block(name):
    """The code block of docs/tutorial.rst named ``name`` (``:name:``), dedented."""
    found = re.search(
        rf'^\.\. code-block:: \w+\n   :name: {name}\n\n((?:   .*\n|\n)+)',
        TUTORIAL.read_text(),
        flags=re.M,
    )
    assert found, f'docs/tutorial.rst has no code block named {name}'
    return textwrap.dedent(found.group(1)).strip('\n') + '\n'


PLUG = '\n' + tutorial_block('tutorial-plug')
# backend: (project name, package, quickstart flag)
QUICKSTARTS = {
    'sqlalchemy': ('qsapp-sa', 'qsapp_sa', '-s'),
    'ming': ('qsapp-ming', 'qsapp_ming', '-i'),
}
TABLES = {
    'activitystream_actions',
    'activitystream_deliveries',
    'activitystream_seen',
    'activitystream_reads',
}

# Run in the project directory with: python -c API_SCRIPT <package> <backend>.
# Like the project's own tests: load test.ini, run setup-app in-process (mim://
# and sqlite :memory: live only in this process), then use the bootstrap users.
API_SCRIPT = """
import importlib, json, logging, sys
import transaction
from gearbox.commands.setup_app import SetupAppCommand
from paste.deploy import loadapp
from tg.util import Bunch
from webtest import TestApp

package, backend = sys.argv[1:]
plug_errors = []
handler = logging.Handler(logging.ERROR)
handler.emit = lambda record: plug_errors.append(record.getMessage())
logging.getLogger('tgext.pluggable').addHandler(handler)

app = TestApp(loadapp('config:test.ini#main_without_authn', relative_to='.'))
SetupAppCommand(Bunch(options=Bunch(verbose_level=1)), Bunch()).run(
    Bunch(config_file='config:test.ini', section_name=None))
model = importlib.import_module(package + '.model')
from activitystream import am

def user(name):
    if backend == 'ming':
        return model.User.query.get(user_name=name)
    return model.DBSession.query(model.User).filter_by(user_name=name).one()

def commit():
    if backend == 'ming':
        model.DBSession.flush_all()
        model.DBSession.clear()
    else:
        transaction.commit()

am.create(user('manager'), 'greeted', recipients=[user('editor')])
commit()
editor = user('editor')
inbox = am.get_by_recipient(editor).limit(10).all()
result = dict(
    has_seen_attribute=hasattr(model.User, 'last_activity_seen'),
    inbox=[[a.verb, a.actor_entity.user_name, a.seen, a.read] for a in inbox],
    unseen=am.count_not_seen_by_recipient(editor),
    manager_unseen=am.count_not_seen_by_recipient(user('manager')),
)
commit()
login = {'REMOTE_USER': 'editor'}
result['controller'] = app.get('/activitystream/', extra_environ=login).json
editor = user('editor')
am.mark_seen(editor)
am.mark_read(editor)
commit()
result['after_marking'] = app.get('/activitystream/', extra_environ=login).json
result['plug_errors'] = plug_errors
print('RESULT', json.dumps(result))
"""


def run(args, cwd, timeout=60):
    """Run ``args`` in ``cwd`` with the project and activitystream importable."""
    env = {**os.environ, 'PYTHONPATH': os.pathsep.join([str(cwd), SOURCE_ROOT])}
    done = subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert done.returncode == 0, f'{args} failed:\n{done.stdout}\n{done.stderr}'
    return done.stdout + done.stderr


@pytest.fixture(scope='module', params=['sqlalchemy', 'ming'])
def project(request, tmp_path_factory):
    """A quickstarted project with activitystream plugged: (directory, package, backend)."""
    backend = request.param
    name, package, flag = QUICKSTARTS[backend]
    tmp = tmp_path_factory.mktemp(backend)
    run([GEARBOX, 'quickstart', '-a', flag, '-p', package, name], cwd=tmp)
    proj = tmp / name
    with open(proj / package / 'config' / 'app_cfg.py', 'a') as app_cfg:
        app_cfg.write(PLUG)
    if backend == 'ming':  # there is no MongoDB server: use Ming's in-memory mim://
        ini = proj / 'development.ini'
        text, found = re.subn(
            r'^ming\.url = .*$', 'ming.url = mim:///', ini.read_text(), flags=re.M
        )
        assert found == 1
        ini.write_text(text)
    run([sys.executable, '-W', 'ignore', '-c', 'from setuptools import setup; setup()',
         '-q', 'egg_info'], cwd=proj)  # fmt: skip
    return proj, package, backend


def test_project_tests_still_pass(project):
    proj, package, _ = project
    # the quickstart's addopts need pytest-cov and --cov-fail-under=90: not ours to judge
    output = run(
        [sys.executable, '-m', 'pytest', '-q', '-p', 'no:cacheprovider', '-o', 'addopts=',
         '-o', 'log_cli=true', '-o', 'log_cli_level=INFO', package],
        cwd=proj,
    )  # fmt: skip
    assert ' passed' in output
    assert 'Plugging activitystream' in output
    assert 'Failed to plug' not in output


def test_setup_app_bootstraps_activitystream(project):
    proj, _, backend = project
    output = run([GEARBOX, 'setup-app', '-c', 'development.ini'], cwd=proj)
    assert f'activitystream: storage ready ({backend})' in output
    assert 'Failed to plug' not in output
    if backend == 'sqlalchemy':
        engine = sa.create_engine(f'sqlite:///{proj / "devdata.db"}')
        assert TABLES <= set(sa.inspect(engine).get_table_names())
        engine.dispose()


def test_api_with_quickstart_user(project):
    proj, package, backend = project
    output = run([sys.executable, '-c', API_SCRIPT, package, backend], cwd=proj)
    (line,) = [line for line in output.splitlines() if line.startswith('RESULT ')]
    result = json.loads(line.removeprefix('RESULT '))
    assert result == {
        'has_seen_attribute': False,
        'inbox': [['greeted', 'manager', False, False]],
        'unseen': 1,
        'manager_unseen': 0,
        'controller': {'unseen_count': 1, 'unread_count': 1},
        'after_marking': {'unseen_count': 0, 'unread_count': 0},
        'plug_errors': [],
    }


# Run in the tutorial's project with: python -c TUTORIAL_SCRIPT. Step 7 of the tutorial:
# the manager waves at the editor, who has a notification in the menu of every page.
TUTORIAL_SCRIPT = """
import json
from gearbox.commands.setup_app import SetupAppCommand
from paste.deploy import loadapp
from tg.util import Bunch
from webtest import TestApp

app = TestApp(loadapp('config:test.ini#main_without_authn', relative_to='.'))
SetupAppCommand(Bunch(options=Bunch(verbose_level=1)), Bunch()).run(
    Bunch(config_file='config:test.ini', section_name=None))
waved = app.get('/wave', params={'to': 'editor'}, extra_environ={'REMOTE_USER': 'manager'})
editor = {'REMOTE_USER': 'editor'}
page = app.get('/demo', extra_environ=editor).text
print('RESULT', json.dumps(dict(
    waved=[waved.status_int, waved.location],
    counts=app.get('/activitystream/', extra_environ=editor).json,
    badge='data-count="1"' in page,
    row='Example manager waved at Example editor' in page,
    nobody=app.get('/wave', params={'to': 'nobody'}, extra_environ=editor, status='*').status_int,
)))
"""


@pytest.mark.parametrize('project', ['sqlalchemy'], indirect=True)
def test_tutorial(project, tmp_path):
    """docs/tutorial.rst, steps 3 to 7, in a copy of the SQLAlchemy quickstart."""
    source, package, _ = project
    proj = Path(shutil.copytree(source, tmp_path / source.name))
    root = proj / package / 'controllers' / 'root.py'
    code = root.read_text().replace('myproject', package)
    imports = tutorial_block('tutorial-imports').replace('myproject', package)
    code = code.replace('\nfrom tg import ', f'\n{imports}from tg import ', 1)
    method = textwrap.indent(tutorial_block('tutorial-wave'), '    ')
    code, found = re.subn(
        r'^    error = ErrorController\(\)\n', rf'\g<0>\n{method}', code, flags=re.M
    )
    assert found == 1
    root.write_text(code)
    master = proj / package / 'templates' / 'master.xhtml'
    menu = textwrap.indent(tutorial_block('tutorial-menu'), ' ' * 10)
    logout = '          <li py:if="request.identity" class="nav-item"><a class="nav-link" href'
    assert master.read_text().count(logout) == 1
    master.write_text(master.read_text().replace(logout, menu + logout))

    output = run([sys.executable, '-c', TUTORIAL_SCRIPT], cwd=proj)
    (line,) = [line for line in output.splitlines() if line.startswith('RESULT ')]
    assert json.loads(line.removeprefix('RESULT ')) == {
        'waved': [302, 'http://localhost/demo'],
        'counts': {'unseen_count': 1, 'unread_count': 1},
        'badge': True,
        'row': True,
        'nobody': 404,
    }
