package slacksim

// The word lists the generator draws from. They are small on purpose: a
// workspace of 100,000 users repeats first and last names the way a real company
// of that size does, and handles get a number to stay unique.

var firstNames = []string{
	"Aaliyah", "Aarav", "Abdul", "Ada", "Adrian", "Ahmed", "Aiko", "Aisha", "Alejandro", "Alex",
	"Alice", "Amara", "Amelia", "Ana", "Andre", "Anika", "Anna", "Arjun", "Aurora", "Ava",
	"Ben", "Bianca", "Bo", "Bruno", "Camila", "Carlos", "Carmen", "Chen", "Chioma", "Chloe",
	"Daniel", "Dario", "David", "Deepa", "Diego", "Dmitri", "Elena", "Eli", "Emily", "Emma",
	"Eric", "Esther", "Ethan", "Fatima", "Felix", "Fiona", "Francesca", "Gabriel", "Grace", "Hana",
	"Hannah", "Hassan", "Hiroshi", "Ian", "Ibrahim", "Ingrid", "Isabel", "Ivan", "Jack", "Jamal",
	"James", "Jana", "Javier", "Jin", "Joao", "Jonas", "Jose", "Julia", "Kai", "Kamala",
	"Karan", "Kenji", "Kofi", "Lars", "Laura", "Leila", "Leo", "Liam", "Lina", "Lucas",
	"Lucia", "Luis", "Maya", "Mei", "Mia", "Miguel", "Mohammed", "Nadia", "Naomi", "Nia",
	"Nikhil", "Nina", "Noah", "Olga", "Oliver", "Omar", "Oscar", "Pablo", "Priya", "Rafael",
	"Rahul", "Ravi", "Rosa", "Ruth", "Sam", "Sana", "Santiago", "Sara", "Sebastian", "Sofia",
	"Sophie", "Sven", "Tariq", "Thomas", "Tomas", "Uma", "Valentina", "Victor", "Wei", "Yara",
	"Yusuf", "Yuki", "Zara", "Zoe", "Olu", "Mateo", "Ines", "Kwame", "Linnea", "Ama",
}

var lastNames = []string{
	"Abe", "Adeyemi", "Ahmed", "Alvarez", "Andersen", "Bakker", "Banerjee", "Becker", "Bianchi", "Brown",
	"Castro", "Chen", "Costa", "Dubois", "Dziedzic", "Eze", "Fernandez", "Fischer", "Garcia", "Gomez",
	"Gonzalez", "Gupta", "Haddad", "Hansen", "Hernandez", "Hoffmann", "Ibrahim", "Ito", "Jensen", "Johnson",
	"Jones", "Kaur", "Khan", "Kim", "Kowalski", "Kumar", "Larsen", "Lee", "Lopez", "Martin",
	"Martinez", "Mensah", "Meyer", "Miller", "Moreau", "Muller", "Murphy", "Nakamura", "Nguyen", "Novak",
	"Okafor", "Olsen", "Owusu", "Patel", "Pereira", "Petrov", "Popescu", "Quispe", "Rahman", "Ramos",
	"Reddy", "Rossi", "Rodriguez", "Sanchez", "Santos", "Sato", "Schmidt", "Schneider", "Shah", "Silva",
	"Singh", "Smith", "Sokolov", "Suzuki", "Takahashi", "Tanaka", "Taylor", "Torres", "Tran", "Wagner",
	"Wang", "Watanabe", "Weber", "Williams", "Wilson", "Wong", "Wu", "Yamamoto", "Yilmaz", "Zhang",
	"Zhou", "Ivanova", "Oyelaran", "Lindqvist", "Moreno", "Nowak", "Okonkwo", "Park", "Ruiz", "Vargas",
}

var titles = []string{
	"Software Engineer", "Senior Software Engineer", "Staff Engineer", "Engineering Manager",
	"Product Manager", "Senior Product Manager", "Product Designer", "UX Researcher",
	"Data Scientist", "Data Engineer", "Site Reliability Engineer", "Security Engineer",
	"Account Executive", "Sales Development Representative", "Customer Success Manager",
	"Support Engineer", "Solutions Architect", "Marketing Manager", "Content Strategist",
	"Recruiter", "People Partner", "Finance Analyst", "Controller", "Legal Counsel",
	"Office Manager", "IT Administrator", "QA Engineer", "Technical Writer",
	"VP of Engineering", "VP of Sales", "Chief Operating Officer", "Head of Design", "",
}

type timezone struct {
	Name   string
	Label  string
	Offset int // seconds east of UTC
	Weight int
}

// timezones carry their standard-time offsets; the sandbox does not follow
// daylight saving time.
var timezones = []timezone{
	{"America/Los_Angeles", "Pacific Standard Time", -28800, 18},
	{"America/Denver", "Mountain Standard Time", -25200, 4},
	{"America/Chicago", "Central Standard Time", -21600, 8},
	{"America/New_York", "Eastern Standard Time", -18000, 20},
	{"America/Sao_Paulo", "Brasilia Standard Time", -10800, 5},
	{"Europe/London", "Greenwich Mean Time", 0, 10},
	{"Europe/Berlin", "Central European Time", 3600, 10},
	{"Europe/Paris", "Central European Time", 3600, 5},
	{"Africa/Lagos", "West Africa Standard Time", 3600, 3},
	{"Asia/Kolkata", "India Standard Time", 19800, 8},
	{"Asia/Singapore", "Singapore Standard Time", 28800, 3},
	{"Asia/Tokyo", "Japan Standard Time", 32400, 4},
	{"Australia/Sydney", "Australian Eastern Standard Time", 36000, 2},
}

var locales = []struct {
	Tag    string
	Weight int
}{
	{"en-US", 60}, {"en-GB", 10}, {"de-DE", 7}, {"fr-FR", 5}, {"es-ES", 5},
	{"pt-BR", 5}, {"ja-JP", 5}, {"ko-KR", 2}, {"it-IT", 1},
}

var colors = []string{
	"9f69e7", "4bbe2e", "e7392d", "3c989f", "674b1b", "e96699", "e0a729", "684b6c",
	"5b89d5", "2b6836", "99d04a", "dd8527", "bb86b7", "e06b56", "53b759", "902d59",
}

var channelNames = []string{
	"engineering", "design", "product", "sales", "marketing", "support", "announcements",
	"random-fun", "help-it", "help-hr", "ops", "incidents", "deploys", "security", "data",
	"finance", "legal", "people", "recruiting", "leadership", "customer-feedback", "releases",
	"frontend", "backend", "mobile", "infra", "qa", "docs", "social", "watercooler", "pets",
	"books", "music", "travel", "kudos", "onboarding", "all-hands", "launch", "partners", "events",
}

var channelTopics = []string{
	"Weekly sync notes are pinned", "Ask anything, no question too small", "Read the pinned runbook first",
	"Launch checklist in the bookmarks", "Office hours: Tuesdays and Thursdays", "",
	"Please thread your replies", "Escalations go to the on-call", "",
}

var words = []string{
	"the", "release", "deploy", "meeting", "customer", "review", "design", "doc", "draft", "today",
	"tomorrow", "bug", "fix", "ticket", "roadmap", "launch", "plan", "team", "metrics", "dashboard",
	"latency", "incident", "update", "thanks", "please", "check", "looks", "good", "ship", "it",
	"blocked", "waiting", "on", "for", "with", "after", "before", "sprint", "retro", "demo",
	"budget", "quarter", "hiring", "onboarding", "lunch", "coffee", "question", "answer", "link", "notes",
	"pipeline", "build", "test", "staging", "production", "rollback", "feature", "flag", "merge", "branch",
	"contract", "invoice", "renewal", "pricing", "feedback", "survey", "agenda", "slides", "recording", "call",
}

var reactionNames = []string{"+1", "eyes", "tada", "white_check_mark", "heart", "joy", "raised_hands", "rocket", "pray", "fire"}

var userAgents = []string{
	"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Slack/4.41.105 Chrome/128.0.6613.186 Electron/32.2.0 Safari/537.36 Sonic Slack_SSB/4.41.105",
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Slack/4.41.105 Chrome/128.0.6613.186 Electron/32.2.0 Safari/537.36 Sonic Slack_SSB/4.41.105",
	"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36",
	"com.tinyspeck.chatlyio/24.11.10 (iPhone; iOS 18.1; Scale/3.00)",
	"com.Slack/24.11.10.0 (Linux; Android 15; Pixel 8)",
	"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Slack/4.41.105 Chrome/128.0.6613.186 Electron/32.2.0 Safari/537.36",
}

type place struct{ Country, Region, ISP string }

var places = []place{
	{"US", "California", "Comcast Cable"}, {"US", "New York", "Verizon Fios"}, {"US", "Texas", "AT&T Internet"},
	{"GB", "England", "BT"}, {"DE", "Berlin", "Deutsche Telekom AG"}, {"FR", "Ile-de-France", "Orange"},
	{"IN", "Karnataka", "Bharti Airtel"}, {"BR", "Sao Paulo", "Vivo"}, {"JP", "Tokyo", "NTT"},
	{"NG", "Lagos", "MTN Nigeria"}, {"SG", "Singapore", "Singtel"}, {"AU", "New South Wales", "Telstra"},
}

type fileType struct{ Ext, Mime, Pretty, Filter string }

// fileTypes' Filter is the files.list "types" value the file answers to.
var fileTypes = []fileType{
	{"pdf", "application/pdf", "PDF", "pdfs"},
	{"png", "image/png", "PNG", "images"},
	{"jpg", "image/jpeg", "JPEG", "images"},
	{"gif", "image/gif", "GIF", "images"},
	{"docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "Word Document", "spaces"},
	{"xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "Excel Spreadsheet", "spaces"},
	{"zip", "application/zip", "Zip", "zips"},
	{"text", "text/plain", "Plain Text", "snippets"},
	{"gdoc", "application/vnd.google-apps.document", "Google Docs", "gdocs"},
}

var fileStems = []string{
	"roadmap", "q3-report", "architecture", "screenshot", "invoice", "contract", "notes", "diagram",
	"budget", "mockup", "logs", "export", "onboarding-guide", "release-notes", "survey-results",
}

var companyNames = []string{
	"Acme", "Globex", "Initech", "Umbrella", "Hooli", "Vandelay", "Stark", "Wayne", "Wonka",
	"Tyrell", "Cyberdyne", "Soylent", "Aperture", "Massive Dynamic", "Oscorp", "Gringotts",
}

var workspaceSuffixes = []string{"HQ", "Engineering", "Sales", "Support", "EMEA", "APAC", "Labs", "Research"}

var customEmoji = []string{
	"partyparrot", "shipit", "thisisfine", "lgtm", "blob-wave", "meow-party", "coffee-parrot",
	"sad-panda", "dumpster-fire", "100-percent", "approved", "rage-quit", "deal-with-it",
	"nyan", "kekw", "facepalm2", "mindblown", "hype", "catjam", "ack",
}

var thirdPartyApps = []string{
	"Google Drive", "Jira Cloud", "GitHub", "Zoom", "Giphy", "Google Calendar", "Salesforce",
	"PagerDuty", "Asana", "Trello", "Zendesk", "Polly", "Loom", "Figma", "Datadog",
}
