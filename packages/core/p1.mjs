import { PGlite } from '@electric-sql/pglite';
import { pg_stat_statements } from '@electric-sql/pglite/contrib/pg_stat_statements';
let t = Date.now();
const db = await PGlite.create({ extensions: { pg_stat_statements } });
console.log('create', Date.now() - t);
t = Date.now();
await db.exec('create table t(id bigint generated always as identity primary key, x text); insert into t(x) values (\'a\');');
const c = await db.clone();
console.log('clone', Date.now() - t);
t = Date.now();
const dump = await db.dumpDataDir('none');
console.log('dump', Date.now() - t, dump.size);
t = Date.now();
const db2 = await PGlite.create({ loadDataDir: dump, extensions: { pg_stat_statements } });
console.log('load', Date.now() - t, (await db2.query('select * from t')).rows);
t = Date.now();
try { await db.exec('create index concurrently if not exists ix_t on t(x)'); console.log('CIC ok', Date.now()-t);} catch (e) { console.log('CIC err', e.message); }
console.log((await db.query("select indisvalid from pg_index where indexrelid='ix_t'::regclass")).rows);
console.log((await db.query("select pg_advisory_lock(1)")).rows, (await db.query("select version()")).rows);
try { await db.exec('create extension if not exists pg_stat_statements'); console.log((await db.query('select count(*) from pg_stat_statements')).rows) } catch (e) { console.log('pss', e.message) }
