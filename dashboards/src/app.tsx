import { useEffect, useRef, useState } from 'preact/hooks';
import type { SitesResponse } from '../../collector/api/dashboard-types.ts';
import { ApiError, request, setCsrfToken, signOut } from './api.ts';
import { NavigatingSelect } from './components/navigating-select.tsx';
import { ErrorMessage, Loading } from './components/ui.tsx';
import { focusPageHeading } from './focus.ts';
import { AccountsPage } from './pages/accounts.tsx';
import { AlertsPage } from './pages/alerts.tsx';
import { LeadPage } from './pages/lead.tsx';
import { LeadsPage } from './pages/leads.tsx';
import { MarketingPage } from './pages/marketing.tsx';
import { cameBack, FIRST_PAGE, hrefWith, interceptLinks, navigate, useLocation, type Location } from './router.ts';
import { canSeeAlerts, OWNERS_LIST, usePageTitle, type PageProps, type Session } from './session.ts';

/** The navigation's pages; some only for the roles that may see them. */
const PAGES: { path: string; label: string; shownTo?: (session: Session) => boolean }[] = [
  { path: '/dashboard', label: 'Marketing' },
  { path: '/dashboard/leads', label: 'Leads' },
  { path: '/dashboard/accounts', label: 'Accounts' },
  { path: '/dashboard/alerts', label: 'Alerts', shownTo: canSeeAlerts },
];

function route(location: Location, props: PageProps) {
  const { path } = location;
  if (path === '/dashboard') return <MarketingPage {...props} />;
  if (path === '/dashboard/leads') return <LeadsPage {...props} />;
  if (path === '/dashboard/accounts') return <AccountsPage {...props} />;
  if (path === '/dashboard/alerts') return <AlertsPage {...props} />;
  const lead = /^\/dashboard\/leads\/([^/]+)$/.exec(path);
  if (lead) return <LeadPage {...props} id={decodeURIComponent(lead[1]!)} />;
  return <PageNotFound path={path} />;
}

function PageNotFound({ path }: { path: string }) {
  usePageTitle('Page not found');
  return (
    <div class="page">
      <h1 tabIndex={-1}>Page not found</h1>
      <p>
        There is no dashboard at {path}. <a href="/dashboard">Go to the marketing dashboard</a>.
      </p>
    </div>
  );
}

/**
 * An address naming a site Hearth does not have, or not one of the user's: said, with a link to each site they have.
 * (Whether Hearth has it is not told to a user limited to some sites, as the API does not tell them.)
 */
function NoSuchSite({ asked, sites, allSites, onSite }: { asked: string; sites: Session['sites']; allSites: boolean; onSite: (id: string) => string }) {
  usePageTitle(`No site “${asked}”`);
  return (
    <section>
      <h1 tabIndex={-1}>No site “{asked}”</h1>
      <p class="error" role="alert">
        {allSites
          ? `Hearth has no site “${asked}”: it may have been removed from the configuration, or the address mistyped.`
          : `“${asked}” is not one of the sites your account opens: an admin can give you access to it if Hearth has it, or the address was mistyped.`}{' '}
        Nothing of another site is shown in its place.
      </p>
      <p>Open this page for:</p>
      <ul class="site-choices">
        {sites.map((candidate) => (
          <li key={candidate.id}>
            <a href={onSite(candidate.id)}>{candidate.name}</a>
          </li>
        ))}
      </ul>
    </section>
  );
}

export function App() {
  const here = useLocation();
  const [session, setSession] = useState<Session>();
  const [failure, setFailure] = useState<ApiError>();
  const main = useRef<HTMLElement>(null);
  const firstPath = useRef(here.path);

  useEffect(() => {
    Promise.all([request<{ user: Session['user']; csrfToken: string | null }>('/api/session'), request<SitesResponse>('/api/dashboard/sites')]).then(
      ([who, sites]) => {
        setCsrfToken(who.csrfToken);
        setSession({ user: who.user, sites: sites.sites, frameworks: sites.frameworks, owners: sites.owners });
      },
      (error: ApiError) => setFailure(error),
    );
    document.addEventListener('click', interceptLinks);
    return () => document.removeEventListener('click', interceptLinks);
  }, []);

  // After moving to another page, focus its heading so keyboard and screen-reader users start there. Without scrolling
  // to it on a page come back to by Back or Forward: the page goes back to where it was left (useScrollRestore).
  useEffect(() => {
    if (here.path === firstPath.current) return;
    firstPath.current = here.path;
    return focusPageHeading(main.current, { preventScroll: cameBack() });
  }, [here.path]);

  if (failure) return <ErrorMessage error={failure} what="the dashboards" />;
  if (!session) return <Loading what="the dashboards" />;
  const asked = here.params.get('site');
  // An address without a site opens the first one; one naming a site Hearth does not have (removed from the config,
  // mistyped) shows nothing of another site in its place: a lead id is an email's, the same on every site.
  const site = asked === null ? session.sites[0]! : session.sites.find((candidate) => candidate.id === asked);
  const current = here.path.startsWith('/dashboard/leads') ? '/dashboard/leads' : here.path;
  const siteParam = { site: asked ?? undefined };
  // A lead belongs to one site: switching site from a lead page goes to that site's inbox. An account, a content item
  // and a page of the list are the old site's too: kept, they listed nothing.
  const onSite = (id: string) =>
    hrefWith(here.path.startsWith('/dashboard/leads/') ? '/dashboard/leads' : here.path, here.params, { site: id, account: undefined, content: undefined, ...FIRST_PAGE });

  return (
    <>
      <a class="skip-link" href="#main">
        Skip to content
      </a>
      <header class="topbar">
        <a class="brand" href={hrefWith('/dashboard', new URLSearchParams(), siteParam)}>
          Hearth
        </a>
        <nav aria-label="Dashboards">
          <ul>
            {PAGES.filter((page) => !page.shownTo || page.shownTo(session)).map((page) => (
              <li key={page.path}>
                <a href={hrefWith(page.path, new URLSearchParams(), siteParam)} aria-current={current === page.path ? 'page' : undefined}>
                  {page.label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <div class="topbar-end">
          {session.sites.length > 1 ? (
            <label class="site-picker">
              Site{' '}
              <NavigatingSelect value={site?.id ?? ''} onPick={(id) => navigate(onSite(id))}>
                {!site && (
                  <option value="" disabled>
                    no site “{asked}”
                  </option>
                )}
                {session.sites.map((candidate) => (
                  <option key={candidate.id} value={candidate.id}>
                    {candidate.name}
                  </option>
                ))}
              </NavigatingSelect>
            </label>
          ) : (
            site && <span class="site-name">{site.name}</span>
          )}
          {session.user && (
            <span class="user">
              <span>
                {session.user.name} <span class="muted">({session.user.role})</span>
              </span>
              <button type="button" class="link-button" onClick={() => void signOut()}>
                Sign out
              </button>
            </span>
          )}
        </div>
      </header>
      <datalist id={OWNERS_LIST}>
        {session.owners.map((owner) => (
          <option key={owner} value={owner} />
        ))}
      </datalist>
      <main id="main" ref={main} tabIndex={-1}>
        {site ? route(here, { session, site, location: here }) : <NoSuchSite asked={asked!} sites={session.sites} allSites={session.user?.allSites ?? true} onSite={onSite} />}
      </main>
    </>
  );
}
