import type { AccountsResponse } from '../../../collector/api/dashboard-types.ts';
import { ACCOUNT_WEIGHTS, POINTS_PER_EXTRA_ROLE } from '../../../scoring/account-weights.ts';
import { query, staleAttributes, useApi } from '../api.ts';
import { DownloadLink } from '../components/download-link.tsx';
import { Failures } from '../components/failures.tsx';
import { NavigatingSelect } from '../components/navigating-select.tsx';
import { lastPageStart, Loading, Pager, TableScroll, TemperatureBadge, usePageTurn } from '../components/ui.tsx';
import { formatNumber } from '../format.ts';
import { roleName } from '../../../scoring/labels.ts';
import { hrefWith, navigate, useScrollRestore } from '../router.ts';
import { usePageTitle, type PageProps } from '../session.ts';

const LIMIT = 100;

/**
 * An account's kinds of role: those its score counts (its warm and hot leads'), then, set apart, those of its cold leads
 * alone, which add nothing (three roles listed and ten points for one more would not add up).
 */
function Roles({ account }: { account: AccountsResponse['accounts'][number] }) {
  const cold = account.personas.filter((role) => !account.countedPersonas.includes(role));
  if (account.personas.length === 0) return <>–</>;
  return (
    <>
      {account.countedPersonas.map(roleName).join(', ')}
      {cold.length > 0 && <span class="muted">{`${account.countedPersonas.length > 0 ? '; ' : ''}${cold.map(roleName).join(', ')} (cold leads only: not counted)`}</span>}
    </>
  );
}
const percent = (share: number) => `${Math.round(share * 100)}%`;

export function AccountsPage({ site, location }: PageProps) {
  usePageTitle(`Accounts · ${site.name}`);
  const temperature = location.params.get('temperature') ?? '';
  // A page of LIMIT accounts, best first: the offset of its first, kept in the URL.
  const offset = Math.max(0, Math.floor(Number(location.params.get('offset')) || 0));
  const accounts = useApi<AccountsResponse>(`/api/dashboard/accounts${query({ site: site.id, temperature, limit: LIMIT, offset: offset || undefined })}`);
  useScrollRestore(!accounts.loading);
  // A page turned from the pager at the bottom, or from past the end to the last page (the button pressed is gone with
  // the page it was on): the reader is taken to the top of the new page, its count line, as on the leads list.
  const pages = usePageTurn<HTMLParagraphElement>(accounts.data);
  const toOffset = (next: number) => pages.turn(() => navigate(hrefWith(location.path, location.params, { offset: next > 0 ? String(next) : undefined })));
  // Paged: more than a page, or a page past the first (a link kept while the list shrank), which needs a way back.
  const paged = accounts.data !== undefined && (accounts.data.total > LIMIT || accounts.data.offset > 0);
  const toLast = () => toOffset(lastPageStart(accounts.data!.total, LIMIT));
  const pagesBefore = paged && accounts.data!.offset > 0;
  const pagesAfter = paged && accounts.data!.offset + LIMIT < accounts.data!.total;
  return (
    <div class="page">
      <div class="page-header">
        <h1 tabIndex={-1}>Accounts</h1>
        <DownloadLink class="button" href={`/api/accounts.csv${query({ site: site.id, temperature })}`}>
          Export this list (CSV)
        </DownloadLink>
        <label>
          Temperature{' '}
          <NavigatingSelect value={temperature} onPick={(picked) => navigate(hrefWith(location.path, location.params, { temperature: picked, offset: undefined }))}>
            <option value="">All</option>
            <option value="hot">Hot</option>
            <option value="warm">Warm</option>
            <option value="cold">Cold</option>
          </NavigatingSelect>
        </label>
      </div>
      <p class="muted intro">
        Companies behind the leads (work email domain, else the declared company). An account scores {percent(ACCOUNT_WEIGHTS[0])} of its best lead's score,{' '}
        {percent(ACCOUNT_WEIGHTS[1])} of the second's and {percent(ACCOUNT_WEIGHTS[2])} of the third's, each counted up to the hot mark ({site.thresholds.hot}{' '}
        points), plus {POINTS_PER_EXTRA_ROLE} points for each further kind of role among its warm and hot leads: one keen lead alone cannot make it hot, and
        neither can students alone. A lead sales disqualified counts among its leads but adds nothing.
      </p>
      <Failures panels={[[accounts, 'the accounts']]} />
      {accounts.error ? null : !accounts.data ? (
        <Loading what="the accounts" />
      ) : accounts.data.accounts.length === 0 && accounts.data.total > 0 ? (
        // An offset kept from a longer list (a link, a list that shrank): its last page is a click away.
        <p class="empty" role="status">
          No account this far down: the list has {formatNumber(accounts.data.total)}.{' '}
          <button type="button" class="link-button" onClick={toLast}>
            Show its last page
          </button>
        </p>
      ) : accounts.data.accounts.length === 0 ? (
        <p class="empty" role="status">
          {temperature ? `No ${temperature} account.` : 'No account yet.'}
        </p>
      ) : (
        <div {...staleAttributes(accounts)}>
          <p class="muted" role="status" ref={pages.count} tabIndex={-1}>
            {paged
              ? `Accounts ${formatNumber(accounts.data.offset + 1)}–${formatNumber(accounts.data.offset + accounts.data.accounts.length)} of ${formatNumber(accounts.data.total)}, best first`
              : `${formatNumber(accounts.data.total)} ${accounts.data.total === 1 ? 'account' : 'accounts'}`}
          </p>
          <TableScroll label="Accounts">
            <table class="accounts">
              <thead>
                <tr>
                  <th scope="col">Account</th>
                  <th scope="col" class="number">
                    Score
                  </th>
                  <th scope="col" class="wide-only">
                    Temperature
                  </th>
                  <th scope="col" class="number">
                    Leads
                  </th>
                  <th scope="col" class="wide-only">
                    Roles
                  </th>
                  <th scope="col" class="wide-only">
                    Best leads
                  </th>
                </tr>
              </thead>
              <tbody>
                {accounts.data.accounts.map((account) => (
                  <tr key={account.id}>
                    <th scope="row">
                      {/* Its leads, exactly those it counts: a search for its name found others too. */}
                      <a href={`/dashboard/leads${query({ site: site.id, temperature: 'all', account: account.id })}`}>{account.name}</a>
                      {account.name !== account.id && !account.id.startsWith('company:') && <span class="sub">{account.id}</span>}
                      {/* On a phone, where its column is not shown (nor the roles' and best leads': the account's link lists them). */}
                      <span class="phone-only badges">
                        <TemperatureBadge temperature={account.temperature} />
                      </span>
                    </th>
                    <td class="number score">{formatNumber(account.score)}</td>
                    <td class="wide-only">
                      <TemperatureBadge temperature={account.temperature} />
                    </td>
                    <td class="number">{formatNumber(account.leads)}</td>
                    <td class="wide-only">
                      <Roles account={account} />
                    </td>
                    <td class="wide-only">
                      <ul class="plain">
                        {account.topLeads.map((lead) => (
                          <li key={lead.id}>
                            <a href={`/dashboard/leads/${lead.id}${query({ site: site.id })}`}>{lead.email}</a> <span class="muted">{formatNumber(lead.score)}</span>
                          </li>
                        ))}
                      </ul>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableScroll>
          {paged && (
            <Pager
              label="Pages of accounts"
              onFirst={pagesBefore ? () => toOffset(0) : undefined}
              onPrevious={pagesBefore ? () => toOffset(Math.max(0, accounts.data!.offset - LIMIT)) : undefined}
              onNext={pagesAfter ? () => toOffset(accounts.data!.offset + LIMIT) : undefined}
              onLast={pagesAfter ? toLast : undefined}
            />
          )}
        </div>
      )}
    </div>
  );
}
