from activitystream import am


def test_create_and_read(env):
    alice, bob = env.user('alice', 'Alice'), env.user('bob')
    a = am.create(alice, 'commented', recipients=[bob])
    got = am.get_by_recipient(bob).limit(10).all()
    assert [x.id for x in got] == [a.id]
    assert got[0].actor == 'Alice'
    assert am.count_not_seen_by_recipient(bob) == 1
    env.commit()
    r = env.app.get('/my_notifications', extra_environ=env.login(bob))
    assert r.json['unseen'] == 1
