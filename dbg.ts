import { performance } from 'node:perf_hooks';
import { execa } from 'execa';
const t = async (label: string, args: string[]) => { const s = performance.now(); const r = await execa('virsh', ['-c', 'qemu:///system', ...args], { reject: false }); console.log(label, Math.round(performance.now() - s), 'ms', r.exitCode); };
await t('version', ['version']);
await t('list', ['list', '--all']);
await t('domstate missing', ['domstate', 'nope']);
await t('nodememstats', ['nodememstats']);
await t('domstats', ['domstats', '--balloon', '--state']);
await t('net-info', ['net-info', 'default']);
