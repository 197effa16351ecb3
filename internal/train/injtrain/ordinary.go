package injtrain

import (
	"fmt"
	"strings"
)

// Ordinary data for the data head's negatives: the kinds of text an agent
// reads that are full of imperatives and "you" without being addressed to
// the assistant — answers to programming questions written to the asker,
// encyclopedic prose and long tables with prose cells, notification and
// marketing e-mails with calls to action, READMEs and API documentation,
// meeting notes whose action items are for people. Text is composed from
// templates whose {slots} are filled from the pools below; none of it is
// taken from a corpus. Long documents matter: the model scores 1 KiB
// windows, and a window of plain prose must not add up to a request.

// slotPools fill the {slots} of the ordinary templates.
var slotPools = map[string][]string{
	"first": {"Maria", "Jonas", "Priya", "Tom", "Aiko", "Lars", "Fatima", "Diego", "Chen", "Olga", "Kwame", "Ines",
		"Rahul", "Sofia", "Mateo", "Hana", "Erik", "Leila", "Samuel", "Yuki", "Anton", "Grace", "Omar", "Nadia",
		"Pedro", "Elif", "Marta", "Kofi", "Irene", "Viktor"},
	"last": {"Okafor", "Lindqvist", "Sharma", "Novak", "Tanaka", "Moreau", "Haddad", "Costa", "Weber", "Kowalski",
		"Mensah", "Rossi", "Ivanova", "Fernandes", "Nakamura", "Dubois", "O'Neill", "Petrov", "Schmidt", "Alvarez",
		"Brennan", "Yilmaz", "Andersen", "Keller", "Moretti"},
	"city": {"Lisbon", "Nairobi", "Osaka", "Valparaíso", "Gdańsk", "Leeds", "Tbilisi", "Porto Alegre", "Winnipeg",
		"Adelaide", "Marseille", "Bergen", "Cork", "Da Nang", "Tampere", "Bologna", "Accra", "Cusco", "Izmir",
		"Brno", "Halifax", "Kraków", "Bilbao", "Hobart", "Trieste", "Mombasa", "Quito", "Graz"},
	"country": {"Portugal", "Kenya", "Japan", "Chile", "Poland", "Canada", "Georgia", "Brazil", "Australia", "Norway",
		"Ireland", "Vietnam", "Finland", "Italy", "Ghana", "Peru", "Turkey", "Austria", "Scotland", "Ecuador"},
	"nationality": {"Portuguese", "Kenyan", "Japanese", "Chilean", "Polish", "Canadian", "Brazilian", "Norwegian",
		"Irish", "Finnish", "Italian", "Ghanaian", "Peruvian", "Austrian", "Dutch", "Welsh"},
	"profession": {"architect", "botanist", "composer", "engineer", "journalist", "cartographer", "painter", "surgeon",
		"economist", "novelist", "photographer", "shipbuilder", "astronomer", "trade unionist", "diplomat",
		"railway engineer", "chemist", "film director", "poet", "footballer"},
	"org": {"Northwind Traders", "Helix Labs", "the Harbour Board", "Atlas Mining", "the Royal Society", "Bluewater Rail",
		"the city council", "Kestrel Aviation", "the national library", "Ferro & Sons", "Vela Records", "Orchard Press",
		"the regional museum", "Summit Foods", "the university hospital", "Delta Shipping"},
	"work": {"a series of bridges along the coast", "the first survey of the northern lakes", "three symphonies",
		"a long-running radio programme", "the design of the central station", "a study of migrating birds",
		"a collection of short stories", "portraits of fishermen", "the reform of the postal service",
		"a dictionary of regional dialects", "the restoration of the old cathedral", "early work on vaccines"},
	"place": {"the old harbour", "the market square", "the north wing", "the river valley", "the main campus",
		"the coastal road", "the industrial district", "the botanical garden", "the town hall", "the eastern suburbs"},
	"thing": {"the bridge", "the lighthouse", "the railway line", "the factory", "the museum", "the stadium",
		"the canal", "the observatory", "the power station", "the library", "the ferry terminal", "the dam"},
	"title": {"The Silent Harbour", "Northern Lights", "A House of Glass", "The Long Winter", "Paper Boats",
		"The Last Orchard", "Tides", "Salt and Iron", "The Night Ferry", "Blue Hour", "The Cartographer",
		"Letters from Home", "Copper Sky", "The Quiet Year", "Open Water", "Small Hours"},
	"goal": {"find the missing ledger", "win back the family farm", "plan a surprise party for her father",
		"hide the truth from his parents", "sell the old house before winter", "write a song for the school concert",
		"organise a strike at the factory", "track down an old friend", "keep the bakery open", "prove her innocence",
		"repair the broken radio", "get elected to the council", "escape the flooded village", "learn to sail",
		"save the local cinema", "return a stolen painting"},
	"event": {"the flood of 1953", "the general strike", "the opening of the new line", "the merger",
		"a fire in the east wing", "the end of the war", "the royal visit", "the financial crisis",
		"the collapse of the old pier", "the first international tour"},
	"lib": {"pandas", "NumPy", "requests", "Django", "Flask", "PyTorch", "matplotlib", "SQLAlchemy", "asyncio", "React",
		"Express", "Spring", "the standard library", "jQuery", "Tokio", "Rails", "scikit-learn", "Lodash"},
	"id": {"df", "arr", "result", "items", "user_id", "config", "response", "data", "model", "path", "row", "key",
		"value", "counter", "tensor", "session", "cursor", "self.cache", "names", "total", "buf", "conn", "opts",
		"matrix", "records", "line", "x", "y", "labels", "payload"},
	"id2": {"df2", "out", "parts", "acc", "tmp", "rows", "new_list", "ids", "batch", "frame", "lookup", "chunk"},
	"type": {"list", "dict", "tuple", "string", "integer", "float", "NumPy array", "DataFrame", "Series", "tensor",
		"generator", "set", "bytes object", "slice", "map", "struct", "pointer", "Promise", "iterator", "None"},
	"err": {"TypeError", "KeyError", "IndexError", "AttributeError", "ValueError", "NameError", "ZeroDivisionError",
		"NullPointerException", "RecursionError", "UnicodeDecodeError", "FileNotFoundError", "ImportError"},
	"method": {"append", "extend", "strip", "split", "join", "reshape", "astype", "apply", "merge", "groupby", "fillna",
		"sort_values", "map", "filter", "reduce", "forEach", "then", "unwrap", "keys", "items", "copy", "update",
		"replace", "to_numpy", "dropna", "iterrows", "encode", "decode", "read", "close"},
	"method2": {"concat", "assign", "transform", "agg", "pop", "insert", "extendleft", "flatten", "squeeze",
		"tolist", "findall", "sub", "format", "partition"},
	"state": {"None", "empty", "a copy", "immutable", "out of range", "not defined yet", "shared between threads",
		"evaluated only once", "a string, not a number", "still a list", "read-only"},
	"fact": {"the index starts at zero", "strings are immutable", "the default argument is evaluated only once",
		"integer division truncates towards zero", "the dictionary keeps insertion order",
		"the method returns None", "the comparison is done element by element", "the loop variable leaks out of the loop",
		"the file is opened in text mode", "the function is called before the data is loaded",
		"floating point numbers cannot represent 0.1 exactly", "the result is cached after the first call"},
	"section": {"Indexing and selecting data", "Working with missing data", "Common pitfalls", "Migration guide",
		"Advanced usage", "Quickstart", "Error handling", "API reference", "Performance tips"},
	"ver": {"1.5", "2.0", "3.8", "3.10", "0.24", "4.2", "18", "1.21"},
	"cmd": {"pip install -e .", "npm install", "make build", "go test ./...", "cargo run --release", "docker compose up",
		"python -m venv .venv", "bundle exec rake", "./configure && make", "yarn start", "mvn package", "poetry install"},
	"var": {"DATABASE_URL", "LOG_LEVEL", "API_TIMEOUT", "CACHE_DIR", "PORT", "DEBUG", "MAX_WORKERS", "DATA_PATH"},
	"project": {"tinyqueue", "mapkit", "logtail", "pdfsplit", "weatherline", "chorus", "fastcsv", "gridlock",
		"papertrail", "sketchbook", "batchy", "openrail"},
	"feature": {"streaming uploads", "retry with backoff", "dark mode", "CSV export", "offline sync", "plugin loading",
		"rate limiting", "incremental builds", "a command-line interface", "webhooks"},
	"shop": {"Bramble & Co", "Nordic Outdoor", "Pixel Books", "Green Basket", "CityCycle", "Harbour Coffee",
		"Lumen Electronics", "Kettle Kitchenware", "Trailhead Gear", "Paper Lantern"},
	"product": {"hiking boots", "a coffee grinder", "noise-cancelling headphones", "a rain jacket", "a desk lamp",
		"running shoes", "a cast-iron pan", "a backpack", "a phone case", "garden tools", "a yoga mat"},
	"month": {"January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
		"November", "December"},
	"weekday": {"Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"},
	"team": {"the design team", "finance", "the platform team", "marketing", "legal", "the support desk", "ops",
		"the data team", "procurement", "the mobile team"},
	"chore": {"update the onboarding guide", "send the minutes to the board", "book the venue for the offsite",
		"follow up with the supplier about the delayed parts", "draft the budget for next quarter",
		"check the licences of the new fonts", "collect feedback from the pilot users", "fix the broken link on the pricing page",
		"renew the SSL certificate", "prepare the slides for the client review", "order new chairs for the second floor",
		"ask legal about the data retention policy", "migrate the old tickets", "schedule interviews for the intern role"},
	"topic": {"the new pricing", "the Q3 roadmap", "the office move", "hiring", "the customer survey", "the release date",
		"the security audit", "the budget", "the trade fair", "the API changes"},
}

// ordinaryTemplates are the sentence templates of each kind of document.
var ordinaryTemplates = map[string][]string{
	// Answers to programming questions, written to the person who asked.
	"answer": {
		"The {err} is raised because `{id}` is a {type}, not a {type}.",
		"`{method}()` does not modify `{id}` in place; it returns a new {type}. Assign the result back: `{id} = {id}.{method}()`.",
		"You are calling `{method}` on the whole {type} instead of on each element.",
		"You should make `{id}` a {type} before the loop, otherwise every iteration creates a new one.",
		"Change `{id}.{method}(...)` to `{id}.{method2}(...)` and it works.",
		"Use `{id}.{method2}()` instead; it handles the {type} case for you.",
		"Your loop is fine, the problem is the line where you reassign `{id}`.",
		"If you want to keep the original `{id}`, call `{method}` on a copy.",
		"As the traceback shows, the error happens inside `{method}`, not in your own code.",
		"Note that {fact}.",
		"This is explained in the {lib} documentation under \"{section}\".",
		"I'd recommend using `{method2}` rather than looping over `{id}` by hand.",
		"Alternatively, you could build `{id2}` first and then assign it in one go.",
		"Edit: as {first} pointed out in the comments, {fact}.",
		"In {lib} {ver} and later you can simply write:",
		"Try this:", "Here is a working example:", "A minimal example:", "Output:", "which prints:",
		"That gives you the expected result.", "Hope that helps!", "This should do what you want.",
		"The reason is that {fact}, so `{id}` ends up {state}.",
		"When you pass `{id}` to the function, it is {state}.",
		"Your second attempt was close; you only need to move the `return` out of the loop.",
		"Don't use `{id}` as a variable name, it shadows the built-in.",
		"Make sure `{id}` is not {state} before you call `{method}` on it.",
		"You can check this yourself by printing `type({id})`.",
		"There are two problems here. First, {fact}. Second, `{id}` is {state}.",
		"The simplest fix is to convert `{id}` with `{method}` before the comparison.",
		"If performance matters, avoid `{method}` inside the loop and use a vectorised operation.",
		"Updated for {lib} {ver}: the old `{method}` argument was removed, use `{method2}`.",
		"The accepted answer works, but it copies `{id}` on every call.",
		"You need to install the package first, then restart the kernel.",
		"Instead of catching the {err}, check whether the key exists.",
		"Read the file once and keep `{id}` in memory; opening it inside the loop is what makes it slow.",
		"Your function never returns anything, so `{id}` is None afterwards.",
		"Wrap the call in a try block if `{id}` can be {state}.",
		"See the {lib} docs for the full list of parameters.",
		"In your example `{id2}` and `{id}` point to the same object, so changing one changes the other.",
		"Pass `{id}` as a keyword argument, the positional order changed in {ver}.",
		"You are mixing tabs and spaces, which is why the indentation looks right but is not.",
		"Set the encoding explicitly when you open the file and the {err} goes away.",
		"You can also do it in one line with a comprehension:",
		"Why it works: {fact}.",
		"Also note that {fact}.", "Also, `{id}` is {state} at that point.", "P.S. {fact}, which is easy to miss.",
		"By the way, {fact}.", "Additionally, you may want to rename `{id}`.", "Note: {fact}.",
		"Before you reply, check that `{id}` is not {state}.", "One more thing: {fact}.",
	},
	// Encyclopedic prose, also the prose cells of tables.
	"prose": {
		"{first} {last} was a {nationality} {profession} best known for {work}.",
		"{thing} was built in {year} by {org} and remained in service until {year2}.",
		"In {year}, {first} {last} moved to {city}, where he worked as a {profession} for {n} years.",
		"In {year}, {first} {last} moved to {city}, where she worked as a {profession} for {n} years.",
		"The population of {city} grew from {num} in {year} to {num} in {year2}.",
		"After {event}, {org} shifted to producing spare parts for farm machinery.",
		"The treaty, signed in {city} in {year}, aimed at ending the dispute over fishing rights.",
		"{first} {last} studied in {city} and later taught at the academy there.",
		"The building was damaged during {event} and restored between {year} and {year2}.",
		"Her first book, {title}, was published in {year} and translated into {n} languages.",
		"His second album, {title}, reached number {n} on the national chart.",
		"The episode follows {first} as she tries to {goal}, while {first} struggles at work.",
		"The episode follows {first} as he tries to {goal}, while {first} and {first} argue about money.",
		"{first} convinces {first} to {goal}, but the plan falls apart when the police arrive.",
		"The station was opened in {year} and closed to passengers in {year2}.",
		"{org} was founded in {city} in {year} and employed about {num} people at its peak.",
		"The river forms the border between the two provinces for {n} kilometres.",
		"Most of the collection was donated by {first} {last}, a local {profession}.",
		"The match was played in front of {num} spectators at {place}.",
		"The company was bought by {org} in {year} and renamed two years later.",
		"Critics praised the film's photography but found the ending abrupt.",
		"The village is known for its wooden churches and its annual music festival.",
		"The route was extended to {city} in {year} after years of delays.",
		"The award is given every two years to a {profession} under forty.",
		"She was elected to the council in {year} and served three terms.",
		"The ship sank off the coast of {country} in {year}; all {n} crew survived.",
		"The original manuscript is kept at the national library in {city}.",
		"The stadium was renovated for {event} and now seats {num}.",
		"{first} {last} ({year}–{year2}) was a {nationality} {profession}.",
		"The species is found in the forests of {country} and feeds mainly on insects.",
		"During {event} the factory produced uniforms and blankets.",
		"The song was written by {first} {last} and recorded in {city} in {year}.",
	},
	// Notification, receipt and marketing e-mails, with calls to action
	// addressed to their reader.
	"notice": {
		"Your booking is confirmed.", "Log in to manage your booking and download your tickets.",
		"Your order #{num} has shipped and should arrive by {weekday}.", "Track your parcel in the app.",
		"Thank you for shopping with {shop}.", "Don't miss our summer sale: up to 40% off {product}.",
		"Shop the new collection now.", "Click here to unsubscribe from these e-mails.", "View this e-mail in your browser.",
		"Find out more on our website.", "Reply STOP to opt out of text messages.", "Verify your e-mail address to finish signing up.",
		"Reset your password using the link below; it expires in 24 hours.", "Join us on {weekday} {n} {month} for the open day.",
		"Register today, places are limited.", "Your subscription renews on {n} {month}.", "Update your payment details to avoid interruption.",
		"If you didn't request this, you can ignore this e-mail.", "Rate your recent purchase of {product}.",
		"Your card ending in {num} was charged $ {num}.", "The full transaction details are available in your dashboard.",
		"Need help? Our support team is here for you around the clock.", "Add the event to your calendar.",
		"Check in online from 24 hours before departure.", "Bring a photo ID and your booking reference.",
		"Earn double points on every order this weekend.", "Download the app for faster checkout.",
		"Your invoice for {month} is attached.", "Please allow three to five working days for the refund.",
		"Follow us for news and offers.", "Questions? Just reply to this e-mail.", "Manage your preferences at any time.",
		"Your appointment with Dr {last} is on {weekday} at {n}:30.", "Please arrive ten minutes early.",
		"Snacks and meals are available from the onboard café.", "Seats are not reserved; sit anywhere in coach B.",
		"Show this QR code at the gate.", "Save 15% on {product} with code SPRING{n}.",
		"We've updated our privacy policy; read what changed.", "Your statement is ready to view.",
		"P.S. Don't forget your loyalty card.", "Also: parking is free on {weekday}s.", "Note: the pool is closed for repairs.",
		"Additionally, you can pick up your order in store.", "By the way, our {city} branch opens in {month}.",
	},
	// READMEs and API documentation, written to a developer.
	"readme": {
		"{project} is a small library for {feature}.", "Install it with `{cmd}`.", "Run `{cmd}` to build from source.",
		"Set `{var}` to change the default.", "See CONTRIBUTING.md before opening a pull request.",
		"Open an issue if you find a bug.", "Pass `--verbose` to see what is going on.",
		"The configuration file is read from the current directory.", "Call `init()` once before any other function.",
		"Returns the number of bytes written, or an error.", "Raises {err} if the file does not exist.",
		"This function is safe to call from several threads.", "Deprecated since {ver}; use `{method2}` instead.",
		"Clone the repository and run the tests.", "Requires Python {ver} or later.",
		"Add the following to your configuration:", "Example:", "Usage:", "Options:",
		"Use `{method}` to read a whole file and `{method2}` for streams.", "Restart the server after changing `{var}`.",
		"Keep your API key secret; do not commit it.", "Write your handler, then register it with `app.route`.",
		"Create a virtual environment first.", "Build the docs with `make docs` and open `_build/index.html`.",
		"Supported platforms: Linux, macOS and Windows.", "Released under the MIT licence.",
		"{project} supports {feature} since version {ver}.", "Upgrade with `{cmd}` and read the changelog.",
		"Environment variables override the file.", "Logs go to standard error.",
	},
	// Meeting notes and chat: requests between people.
	"notes": {
		"Action: {first} to {chore} by {weekday}.", "{first} will {chore}.", "Next meeting: {weekday} at {n}:00.",
		"Decision: we postpone {topic} until the next quarter.", "{first} asked {team} to {chore}.",
		"Open question: who owns {topic}?", "{first}: can someone {chore}?", "{first}: sure, I'll do it tomorrow.",
		"Agreed to {chore} before the launch.", "Attendees: {first}, {first}, {first} and {first}.",
		"{team} reported that {topic} is on track.", "Please {chore} and let {first} know.",
		"Reminder for everyone: {chore}.", "{first} raised concerns about {topic}.",
		"TODO ({first}): {chore}.", "Can you {chore} before Friday, {first}?", "{first} will present {topic} next week.",
		"Also: {first} will {chore}.", "P.S. {first} says thanks for the cake.", "By the way, {team} moved to the third floor.",
		"Additionally, {first} asked us to {chore}.", "NOTE: the office is closed on {weekday}.", "One more thing: {chore} is still open.",
		"In addition, {team} needs someone to {chore}.", "Before you leave, please {chore}.",
	},
}

// fillSlots replaces each {slot} of t from slotPools; {year}, {year2},
// {n} and {num} are numbers.
func (g *dataGen) fillSlots(t string) string { return g.fillFrom(t, slotPools) }

// fillFrom replaces each {slot} of t from pools; {year}, {year2}, {n} and
// {num} are numbers. An unknown slot is left as it is (the tests look for
// braces left in generated text).
func (g *dataGen) fillFrom(t string, pools map[string][]string) string {
	var b strings.Builder
	year := 1850 + g.rng.IntN(170)
	for {
		i := strings.IndexByte(t, '{')
		j := strings.IndexByte(t[max(i, 0):], '}')
		if i < 0 || j < 0 {
			b.WriteString(t)
			return b.String()
		}
		b.WriteString(t[:i])
		switch name := t[i+1 : i+j]; name {
		case "year":
			b.WriteString(fmt.Sprint(year))
		case "year2":
			b.WriteString(fmt.Sprint(year + 1 + g.rng.IntN(60)))
		case "n":
			b.WriteString(fmt.Sprint(2 + g.rng.IntN(28)))
		case "num":
			b.WriteString(fmt.Sprint(100 + g.rng.IntN(99900)))
		default:
			if pool, ok := pools[name]; ok {
				b.WriteString(g.pick(pool))
			} else {
				b.WriteString(t[i : i+j+1])
			}
		}
		t = t[i+j+1:]
	}
}

// sentences returns n filled sentences of kind.
func (g *dataGen) sentences(kind string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = g.fillSlots(g.pick(ordinaryTemplates[kind]))
	}
	return out
}

// paragraphs joins sentences of kind into paragraphs of about size bytes.
func (g *dataGen) paragraphs(kind string, size int) string {
	var b strings.Builder
	for b.Len() < size {
		for _, s := range g.sentences(kind, 2+g.rng.IntN(4)) {
			b.WriteString(s)
			b.WriteString(" ")
		}
		b.WriteString("\n\n")
	}
	return strings.TrimSpace(b.String())
}

// codeSnippet returns a few lines of made-up code.
func (g *dataGen) codeSnippet() string {
	lines := []string{
		"{id} = {id2}.{method}()", "for {id} in {id2}:", "    {id2}.{method}({id})", "print({id})",
		"{id} = [x for x in {id2} if x]", "if {id} is None:", "    return {id2}", "import {lib}",
		"def load({id}):", "    with open({id}) as f:", "        return f.read()", "{id}.{method2}(axis=1)",
		">>> {id}.{method}()", "{num}", ">>> type({id})", "<class '{type}'>", "const {id2} = {id}.{method}(x => x.id);",
		"console.log({id2});", "let mut {id} = Vec::new();", "{id} := make(map[string]int)",
		"{err}: '{type}' object has no attribute '{method}'", "  File \"{project}/util.py\", line {n}, in load",
		"In [{n}]: {id}.{method}()", "Out[{n}]: {num}",
		"SELECT {id}, COUNT(*) FROM {id2} GROUP BY {id};", "$ {cmd}",
	}
	n := 2 + g.rng.IntN(6)
	out := make([]string, n)
	for i := range out {
		out[i] = g.fillSlots(g.pick(lines))
	}
	return strings.Join(out, "\n")
}

// longAnswer returns an answer to a programming question: explanations to
// the asker, code blocks, inline code and sometimes a REPL session.
func (g *dataGen) longAnswer() string {
	var parts []string
	for range 2 + g.rng.IntN(5) {
		switch g.rng.IntN(3) {
		case 0:
			parts = append(parts, "```\n"+g.codeSnippet()+"\n```")
		default:
			parts = append(parts, strings.Join(g.sentences("answer", 1+g.rng.IntN(3)), " "))
		}
	}
	return strings.Join(parts, "\n")
}

// longTable returns a Markdown table of many rows, padded like exported
// wiki tables, some of whose cells are prose.
func (g *dataGen) longTable() string {
	heads := [][]string{
		{"No.", "Title", "Directed by", "Written by", "Original air date"},
		{"Name", "Born", "Died", "Notes"},
		{"Year", "Title", "Role", "Notes"},
		{"Station", "Opened", "Closed", "Notes"},
		{"Treaty", "Signed", "Location", "Parties"},
		{"Date", "Opponent", "Site", "Result", "Attendance"},
		{"Episode", "Name", "Synopsis"},
		{"Rank", "Building", "City", "Height (m)", "Year"},
		{"Season", "Team", "Apps", "Goals"},
		{"Image", "Name", "Birth date", "Death date", "Brief biography"},
	}
	head := heads[g.rng.IntN(len(heads))]
	rows := [][]string{head}
	for range 4 + g.rng.IntN(25) {
		r := make([]string, len(head))
		for j, h := range head {
			r[j] = g.tableCell(h)
		}
		rows = append(rows, r)
	}
	width := make([]int, len(head))
	for _, r := range rows {
		for j, c := range r {
			width[j] = max(width[j], len(c))
		}
	}
	var b strings.Builder
	for _, r := range rows {
		b.WriteString("|")
		for j, c := range r {
			b.WriteString(" " + c + strings.Repeat(" ", width[j]-len(c)) + " |")
		}
		b.WriteString("\n")
	}
	return b.String()
}

// tableCell returns a cell for a column with header h.
func (g *dataGen) tableCell(h string) string {
	switch h {
	case "No.", "Rank", "Apps", "Goals", "Episode":
		return fmt.Sprint(1 + g.rng.IntN(60))
	case "Title", "Name", "Building":
		if g.rng.IntN(2) == 0 {
			return g.fillSlots("{title}")
		}
		return g.fillSlots("{first} {last}")
	case "Directed by", "Written by":
		return g.fillSlots("{first} {last}")
	case "Original air date", "Born", "Died", "Signed", "Date", "Birth date", "Death date":
		return g.fillSlots("{n} {month} {year}")
	case "Year", "Opened", "Closed", "Season":
		return g.fillSlots("{year}")
	case "Location", "Site", "City":
		return g.fillSlots("{city}")
	case "Opponent", "Team", "Parties":
		return g.fillSlots("{city} {last}s")
	case "Result":
		return fmt.Sprintf("%c %d–%d", "WLD"[g.rng.IntN(3)], g.rng.IntN(60), g.rng.IntN(60))
	case "Attendance", "Height (m)":
		return g.fillSlots("{num}")
	case "Role":
		return g.fillSlots("{profession}")
	case "Image":
		return ""
	}
	if g.rng.IntN(4) == 0 {
		return "—"
	}
	return strings.Join(g.sentences("prose", 1+g.rng.IntN(3)), " ")
}

// notice returns a notification, receipt or marketing e-mail.
func (g *dataGen) notice() string {
	var b strings.Builder
	if g.rng.IntN(2) == 0 {
		b.WriteString(g.fillSlots("SUBJECT: {shop}: your order #{num}|EMAIL_FROM: no-reply@example.com|CONTENT: "))
	}
	b.WriteString(g.fillSlots("Hi {first},\n"))
	b.WriteString(strings.Join(g.sentences("notice", 3+g.rng.IntN(8)), "\n"))
	b.WriteString(g.fillSlots("\n\nThe {shop} team"))
	return b.String()
}

// readme returns a README or API documentation page.
func (g *dataGen) readme() string {
	var b strings.Builder
	b.WriteString(g.fillSlots("# {project}\n\n"))
	for _, sec := range []string{"## Installation", "## Usage", "## Configuration", "## API", "## Contributing"} {
		if g.rng.IntN(3) == 0 {
			continue
		}
		b.WriteString(sec + "\n\n" + strings.Join(g.sentences("readme", 1+g.rng.IntN(4)), " ") + "\n\n")
		if g.rng.IntN(2) == 0 {
			b.WriteString("```\n" + g.codeSnippet() + "\n```\n\n")
		}
	}
	return b.String()
}

// notes returns meeting notes or a chat log.
func (g *dataGen) notes() string {
	var b strings.Builder
	b.WriteString(g.fillSlots("Notes, {weekday} {n} {month}\n"))
	for _, s := range g.sentences("notes", 3+g.rng.IntN(8)) {
		b.WriteString("- " + s + "\n")
	}
	return b.String()
}

// ordinaryDoc returns one ordinary document of a random kind, possibly
// longer than a scoring window.
func (g *dataGen) ordinaryDoc() string {
	switch g.rng.IntN(7) {
	case 0, 1:
		return g.longAnswer()
	case 2:
		return g.longTable()
	case 3:
		return g.paragraphs("prose", 300+g.rng.IntN(1500))
	case 4:
		return g.notice()
	case 5:
		return g.readme()
	}
	return g.notes()
}

// window returns a piece of s of at most one scoring window (1 KiB), cut
// at line or space boundaries.
func (g *dataGen) window(s string) string { return g.piece(s, 400, 1<<10) }

// piece returns a piece of s of between about least and most bytes, at a
// random place, cut at line or space boundaries (s itself when it is not
// longer than most).
func (g *dataGen) piece(s string, least, most int) string {
	if len(s) <= most {
		return s
	}
	n := least + g.rng.IntN(most-least)
	start := g.rng.IntN(len(s) - n + 1)
	if i := strings.IndexAny(s[start:], "\n "); i >= 0 && start > 0 {
		start += i + 1
	}
	end := min(start+n, len(s))
	if i := strings.LastIndexAny(s[start:end], "\n "); i > 0 && end < len(s) {
		end = start + i
	}
	return strings.ToValidUTF8(s[start:end], "")
}
