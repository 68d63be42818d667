/**
 * The observer's page: one self-contained HTML document (inline style and script, no CDN,
 * nothing to build) that follows `/events` (Server-Sent Events, one `ObserverState` a
 * message) and redraws. Text goes in through `textContent` only.
 */

const STYLE = `
body{font:13px/1.4 system-ui,sans-serif;margin:16px;color:#1d2430;background:#f6f7f9}
h1{font-size:18px;margin:0 0 4px}h2{font-size:15px;margin:18px 0 6px}
.muted{color:#6b7380}.grid{display:grid;grid-template-columns:minmax(260px,1fr) 3fr;gap:16px}
.card{background:#fff;border:1px solid #dde1e6;border-radius:6px;padding:10px 12px;margin-bottom:12px}
ul.tree{list-style:none;padding-left:14px;margin:0}ul.tree>li{margin:1px 0}
.state{display:inline-block;padding:0 6px;border-radius:8px;background:#e8ebef;font-size:11px;margin-left:6px}
.state.running,.state.idle,.state.active,.state.up{background:#d8f3dc;color:#1b5e20}
.state.busy{background:#dbe9ff;color:#0d47a1}
.state.failed,.state.backoff,.state.probing,.state.down,.state.error,.state.stopped{background:#fde2e1;color:#9b1c1c}
.restarts{font-size:11px;color:#9b1c1c;margin-left:6px}.restarts.muted{color:#9aa1ab}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:3px 8px;border-bottom:1px solid #eef0f3;white-space:nowrap}
th{font-weight:600;color:#4a5260;font-size:12px}td.num{text-align:right;font-variant-numeric:tabular-nums}
svg{width:100%;height:140px;background:#fbfcfd;border:1px solid #eef0f3}
.legend span{margin-right:12px;font-size:12px}.legend i{display:inline-block;width:10px;height:10px;margin-right:4px;border-radius:2px}
#status.off{color:#9b1c1c}
`;

const SCRIPT = `
const COLORS=['#1f77b4','#d62728','#2ca02c','#9467bd','#ff7f0e','#8c564b','#17becf','#e377c2'];
const el=(tag,attrs,...kids)=>{const e=document.createElement(tag);for(const [k,v] of Object.entries(attrs||{})){if(k==='class')e.className=v;else e.setAttribute(k,v)}for(const k of kids){if(k==null)continue;e.append(typeof k==='object'?k:document.createTextNode(String(k)))}return e};
const ms=(v)=>v==null?'–':(v<10?v.toFixed(1):Math.round(v))+' ms';
function tree(node,path){
  const p=path?path+'/'+node.id:node.id;
  const li=el('li',{'data-node':p,'data-state':node.state,'data-restarts':String(node.restarts)},
    el('span',{},node.id),el('span',{class:'state '+node.state.replace(/[^a-z_]/gi,'')},node.state),
    node.pool?el('span',{class:'muted'},' pool'):null,
    node.restarts>0?el('span',{class:'restarts'},'↻ '+node.restarts):el('span',{class:'restarts muted'},'↻ 0'));
  if(node.children.length){const ul=el('ul',{class:'tree'});for(const c of node.children)ul.append(tree(c,p));li.append(ul)}
  return li;
}
function chart(servers){
  const W=600,H=140,n=servers[0]?servers[0].history.length:0;
  const max=Math.max(1,...servers.flatMap(s=>s.history));
  const svg=document.createElementNS('http://www.w3.org/2000/svg','svg');
  svg.setAttribute('viewBox','0 0 '+W+' '+H);svg.setAttribute('preserveAspectRatio','none');
  servers.forEach((s,i)=>{const pl=document.createElementNS('http://www.w3.org/2000/svg','polyline');
    pl.setAttribute('fill','none');pl.setAttribute('stroke',COLORS[i%COLORS.length]);pl.setAttribute('stroke-width','1.5');
    pl.setAttribute('points',s.history.map((v,x)=>(x*W/Math.max(1,n-1)).toFixed(1)+','+(H-4-(v/max)*(H-12)).toFixed(1)).join(' '));svg.append(pl)});
  const legend=el('div',{class:'legend'},...servers.map((s,i)=>el('span',{},el('i',{style:'background:'+COLORS[i%COLORS.length]}),s.server)),
    el('span',{class:'muted'},'queries/s, last '+Math.round(n/60)+' min, peak '+max+'/s'));
  return el('div',{},svg,legend);
}
function pool(p){
  const rows=p.servers.map(s=>{const c=s.connections;
    return el('tr',{'data-server':s.server,'data-up':s.up?'1':'0'},
      el('td',{},s.server),el('td',{},el('span',{class:'state '+(s.up?'up':'down')},s.up?'up':'down')),el('td',{},s.version||'–'),
      el('td',{},Object.entries(c).filter(([,n])=>n>0).map(([k,n])=>k+' '+n).join(', ')||'none'),
      el('td',{class:'num'},s.inFlight),el('td',{class:'num'},s.rate.toFixed(1)),el('td',{class:'num'},s.errors+' / '+s.lastMinute.errors),
      el('td',{class:'num'},ms(s.p50)),el('td',{class:'num'},ms(s.p99)),el('td',{class:'num'},s.queries))});
  const w=p.writer;
  return el('div',{class:'card','data-pool':p.name},
    el('h2',{},p.name,el('span',{class:'state '+(p.started?'running':'stopped')},p.started?'started':'stopped')),
    el('table',{},el('tr',{},...['server','','version','connections','in flight','q/s','errors (all / 1 min)','p50 1 min','p99 1 min','requests'].map(h=>el('th',{},h))),...rows),
    el('p',{'data-broker':''},el('b',{},'broker '),'lent '+p.inUse+' · idle '+p.idle+' · waiting '+p.waiters+' · overflow '+p.overflow+' ('+p.overflowInUse+' lent)'),
    el('p',{'data-writer':''},el('b',{},'writer '),'queued '+w.queued+' · in flight '+w.inFlight+' · written '+w.written+' · dropped '+w.dropped+' · dead-lettered '+w.failed+' · retried '+w.retried),
    chart(p.servers));
}
function render(state){
  document.getElementById('tree').replaceChildren(el('ul',{class:'tree'},tree(state.tree,'')));
  document.getElementById('pools').replaceChildren(...state.pools.map(pool));
  const r=state.restarts.filter(x=>x.count||x.gaveUp);
  document.getElementById('restarts').replaceChildren(r.length?el('table',{},el('tr',{},el('th',{},'supervisor'),el('th',{},'child'),el('th',{},'restarts'),el('th',{},'last reason')),
    ...r.map(x=>el('tr',{},el('td',{},x.supervisor),el('td',{},x.child),el('td',{class:'num'},x.count+(x.gaveUp?' (gave up)':'')),el('td',{},x.lastReason)))):el('span',{class:'muted'},'none since the observer started'));
  document.getElementById('at').textContent=new Date(state.at).toLocaleTimeString();
}
const token=new URLSearchParams(location.search).get('token');
const source=new EventSource('events'+(token?'?token='+encodeURIComponent(token):''));
const status=document.getElementById('status');
source.onmessage=(m)=>{status.textContent='live';status.className='';render(JSON.parse(m.data))};
source.onerror=()=>{status.textContent='disconnected, retrying';status.className='off'};
`;

/**
 * The page's HTML.
 *
 * @example
 * res.end(observerPage());
 */
export function observerPage(): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>colonnade observer</title>
<meta name="viewport" content="width=device-width,initial-scale=1"><style>${STYLE}</style></head>
<body><h1>colonnade observer</h1>
<div class="muted"><span id="status">connecting</span> · updated <span id="at">–</span></div>
<div class="grid"><div><h2>Supervision tree</h2><div class="card" id="tree"></div>
<h2>Restarts</h2><div class="card" id="restarts"></div></div>
<div><div id="pools"></div></div></div>
<script>${SCRIPT}</script></body></html>`;
}
